/**
 * The notebook's content factory, as JupyterLab's
 * (@jupyterlab/notebook-extension:factory, disabled in package.json), but
 * whose cells answer the Claude kernel's permission question with buttons.
 */

import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IStdin, Stdin } from '@jupyterlab/outputarea';

import { stdinFor } from './permission';

export class ClaudeContentFactory extends NotebookPanel.ContentFactory {
  createStdin(options: Stdin.IOptions): IStdin {
    return stdinFor(options, o => super.createStdin(o));
  }
}

export const notebookFactory: JupyterFrontEndPlugin<NotebookPanel.IContentFactory> = {
  id: 'oh-my-agent-lab:notebook-factory',
  description: 'Provides the notebook and cell factory, with permission prompts as buttons.',
  autoStart: true,
  provides: NotebookPanel.IContentFactory,
  requires: [IEditorServices],
  activate: (_app, editorServices: IEditorServices) =>
    new ClaudeContentFactory({ editorFactory: editorServices.factoryService.newInlineEditor })
};
