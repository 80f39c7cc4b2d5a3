/**
 * The notebook toolbar's cell-type dropdown in the words of a person who
 * talks to an agent: in a Claude notebook a "Code" cell is a question the
 * agent answers and a "Markdown" cell a note of their own that the agent
 * never sees, so the dropdown says "Ask the agent" and "Note" there.
 *
 * It stays JupyterLab's own dropdown (its keyboard handling, its following of
 * the selection, its accessible name), registered again under the same
 * toolbar name with a translator that has these words for Claude notebooks;
 * the notebooks of other kernels keep JupyterLab's words ("Code",
 * "Markdown"), in the language JupyterLab speaks.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IToolbarWidgetRegistry } from '@jupyterlab/apputils';
import { INotebookWidgetFactory, NotebookPanel, ToolbarItems } from '@jupyterlab/notebook';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { isClaudeKernel } from './agents';
import { t } from './text';

/** JupyterLab's notebook widget factory, whose toolbar holds the dropdown as "cellType". */
const NOTEBOOK_FACTORY = 'Notebook';
const CELL_TYPE_ITEM = 'cellType';

/** What a Claude notebook's dropdown says instead of JupyterLab's words (its msgids). */
export function claudeWords(msgid: string): string | null {
  switch (msgid) {
    case 'Code':
      return t('Ask the agent');
    case 'Markdown':
      return t('Note');
    case 'Select the cell type':
      return t('A question for the agent, or a note of your own the agent does not see');
    default:
      return null;
  }
}

/** ``base`` with the Claude words while ``claude()`` says the notebook is a Claude one. */
export function claudeTranslator(base: ITranslator, claude: () => boolean): ITranslator {
  return {
    get languageCode() {
      return base.languageCode;
    },
    load(domain: string): TranslationBundle {
      const bundle = base.load(domain);
      const words: TranslationBundle = Object.create(bundle);
      words.__ = (msgid: string, ...args: any[]) => (claude() && claudeWords(msgid)) || bundle.__(msgid, ...args);
      return words;
    }
  };
}

function cellTypeItem(panel: NotebookPanel, translator: ITranslator): Widget {
  const session = panel.sessionContext;
  const claude = () => isClaudeKernel(session.session?.kernel?.name ?? session.kernelPreference.name);
  const item = ToolbarItems.createCellTypeItem(panel, claudeTranslator(translator, claude));
  // The person may switch the notebook to another kernel: the words follow.
  const follow = () => item.update();
  session.kernelChanged.connect(follow);
  void session.ready.then(follow);
  item.disposed.connect(() => session.kernelChanged.disconnect(follow));
  return item;
}

export const agentCellTypes: JupyterFrontEndPlugin<void> = {
  id: 'oh-my-agent-lab:cell-type',
  description: 'Says "Ask the agent" and "Note" in the cell-type dropdown of Claude notebooks.',
  autoStart: true,
  // After JupyterLab's notebook widget factory plugin, which registers its own dropdown under this name.
  requires: [IToolbarWidgetRegistry, INotebookWidgetFactory, ITranslator],
  activate: (_app: JupyterFrontEnd, toolbars: IToolbarWidgetRegistry, _notebooks: unknown, translator: ITranslator) => {
    toolbars.addFactory<NotebookPanel>(NOTEBOOK_FACTORY, CELL_TYPE_ITEM, panel => cellTypeItem(panel, translator));
  }
};
