/**
 * An empty cell of a Claude notebook says whom it asks: "Ask Newsletter
 * writer…" (the plain Claude kernel: "Ask Claude…"), where JupyterLab shows
 * nothing; and its editor is named for screen readers the same way ("Your
 * question for Newsletter writer"), where JupyterLab's cell editors have no
 * accessible name (axe-core's aria-input-field-name). Cells of other kernels
 * are left alone.
 */

import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Cell } from '@jupyterlab/cells';
import { CodeMirrorEditor } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Compartment } from '@codemirror/state';
import { EditorView, placeholder } from '@codemirror/view';
import { KernelSpec } from '@jupyterlab/services';

import { agentName, isClaudeKernel } from './agents';
import { t } from './text';

/** The placeholder of the notebook's cells, or '' when its kernel is not Claude's. */
export function placeholderText(kernelName: string | undefined, displayName: string): string {
  if (!isClaudeKernel(kernelName)) {
    return '';
  }
  const agent = agentName(displayName);
  return agent ? t('Ask {agent}…', { agent }) : t('Ask Claude…');
}

/** The accessible name of the notebook's cell editors, or '' when its kernel is not Claude's. */
export function editorLabel(kernelName: string | undefined, displayName: string): string {
  if (!isClaudeKernel(kernelName)) {
    return '';
  }
  const agent = agentName(displayName);
  return agent ? t('Your question for {agent}', { agent }) : t('Your question for Claude');
}

function watch(panel: NotebookPanel, specs: KernelSpec.IManager): void {
  const session = panel.sessionContext;
  const decorated = new WeakSet<Cell>();
  const shown: { editor: CodeMirrorEditor; words: Compartment }[] = [];
  // From the kernelspec rather than the session's display name, which is "No Kernel" until it starts.
  const text = () => {
    const kernelName = session.session?.kernel?.name ?? session.kernelPreference.name;
    const spec = kernelName ? specs.specs?.kernelspecs[kernelName] : undefined;
    const displayName = spec?.display_name ?? session.kernelDisplayName;
    const label = editorLabel(kernelName, displayName);
    return [
      placeholder(placeholderText(kernelName, displayName)),
      EditorView.contentAttributes.of(label ? { 'aria-label': label } : {})
    ];
  };
  const decorate = () => {
    for (const cell of panel.content.widgets) {
      if (cell.model.type !== 'code' || decorated.has(cell)) {
        continue;
      }
      decorated.add(cell);
      void cell.ready.then(() => {
        const editor = cell.editor;
        if (editor instanceof CodeMirrorEditor) {
          const words = new Compartment();
          editor.injectExtension(words.of(text()));
          shown.push({ editor, words });
        }
      });
    }
  };
  // The person may switch the notebook to another agent's kernel: the words follow.
  const follow = () => {
    const words = text();
    for (const { editor, words: compartment } of shown) {
      editor.editor.dispatch({ effects: compartment.reconfigure(words) });
    }
  };
  session.kernelChanged.connect(follow);
  void specs.ready.then(follow);
  panel.content.modelChanged.connect(() => {
    panel.content.model?.cells.changed.connect(decorate);
    decorate();
  });
  void panel.context.ready.then(() => {
    panel.content.model?.cells.changed.connect(decorate);
    decorate();
  });
}

export const claudePlaceholder: JupyterFrontEndPlugin<void> = {
  id: 'oh-my-agent-lab:placeholder',
  description: 'Shows "Ask <agent>…" in the empty cells of Claude notebooks.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app, tracker: INotebookTracker) => {
    tracker.widgetAdded.connect((_, panel) => watch(panel, app.serviceManager.kernelspecs));
  }
};
