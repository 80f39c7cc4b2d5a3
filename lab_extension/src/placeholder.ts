/**
 * An empty cell of a Claude notebook says whom it asks: "Ask Newsletter
 * writer…" (the plain Claude kernel: "Ask Claude…"), where JupyterLab shows
 * nothing. Cells of other kernels are left alone.
 */

import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Cell } from '@jupyterlab/cells';
import { CodeMirrorEditor } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { placeholder } from '@codemirror/view';

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

function watch(panel: NotebookPanel): void {
  const session = panel.sessionContext;
  const decorated = new WeakSet<Cell>();
  const text = () => {
    const kernelName = session.session?.kernel?.name ?? session.kernelPreference.name;
    return placeholderText(kernelName, session.kernelDisplayName);
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
          // A function, so that the words follow the kernel when the person switches it.
          editor.injectExtension(
            placeholder(() => {
              const span = document.createElement('span');
              span.textContent = text();
              return span;
            })
          );
        }
      });
    }
  };
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
  activate: (_app, tracker: INotebookTracker) => {
    tracker.widgetAdded.connect((_, panel) => watch(panel));
  }
};
