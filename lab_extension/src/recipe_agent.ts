/**
 * Recipes in JupyterLab.
 *
 * A notebook that carries an agent (``metadata.oh_my_agent.agent``: a recipe
 * someone shared, a notebook copied from another server) names that agent's
 * kernel, which this server may not have. On opening it the person is asked
 * "This notebook brings the agent <name>: create it?", with what the agent
 * will be allowed in the agent form's words; yes creates it through the
 * server's ``api/recipe-agent`` (agents_extension/server/runs.py, as the Run
 * page does) and switches the notebook to its kernel. When one of their agents
 * already is that agent, the notebook is switched to it without asking.
 *
 * "Share as a recipe…" in the File menu (schema/share-recipe.json) opens the
 * share page of the server's gallery (agents_extension/server/gallery.py) for
 * the notebook in front, in a new tab.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ISessionContextDialogs, showDialog } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { KernelSpec, ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { t } from './text';

const SHARE_COMMAND = 'oh-my-agent:share-recipe';

interface IRecipeAgent {
  here: boolean;
  definition: { name: string } | null;
  allowed_in_words: string[];
  same_kernel: string | null;
}

async function call(method: 'GET' | 'POST', notebook: string): Promise<any> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'api/recipe-agent');
  const response = await ServerConnection.makeRequest(
    method === 'GET' ? `${url}?path=${encodeURIComponent(notebook)}` : url,
    method === 'GET' ? {} : { method, body: JSON.stringify({ path: notebook }) },
    settings
  );
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(answer.message || response.statusText);
  }
  return answer;
}

/**
 * JupyterLab asks "Select Kernel" itself when a notebook's kernel is missing; the question here replaces it.
 * Its dialog is known by the kernel list in its body and the notebook's name in its label.
 */
function closeKernelQuestion(panel: NotebookPanel): void {
  Dialog.tracker.forEach(dialog => {
    const label = dialog.node.querySelector('.jp-Dialog-body label')?.textContent ?? '';
    if (dialog.node.querySelector('.jp-Dialog-body select') && label.includes(`"${panel.sessionContext.name}"`)) {
      dialog.reject();
    }
  });
}

async function useKernel(panel: NotebookPanel, specs: KernelSpec.IManager, name: string): Promise<void> {
  await specs.refreshSpecs(); // the agent's kernelspec was written just now
  closeKernelQuestion(panel);
  await panel.sessionContext.changeKernel({ name });
}

async function offer(panel: NotebookPanel, specs: KernelSpec.IManager, dialogs: ISessionContextDialogs | null) {
  await panel.context.ready;
  const carried = panel.model?.getMetadata('oh_my_agent') as { agent?: unknown } | undefined;
  if (!carried?.agent || !panel.context.path.endsWith('.ipynb')) {
    return;
  }
  const found: IRecipeAgent = await call('GET', panel.context.path);
  if (found.here || !found.definition) {
    return;
  }
  // The session as JupyterLab set it up on opening (initialize() again is that same promise; ``ready`` would
  // wait for a kernel the person has not picked yet).
  await panel.sessionContext.initialize();
  if (found.same_kernel) {
    await useKernel(panel, specs, found.same_kernel);
    return;
  }
  closeKernelQuestion(panel);
  const body = document.createElement('div');
  body.className = 'oma-RecipeAgent';
  for (const line of [
    found.allowed_in_words.length
      ? t('Create it? It will be allowed, without asking: {allowed}.', { allowed: found.allowed_in_words.join(', ') })
      : t('Create it? It will do nothing without asking you first.'),
    t('It is created in your server, with its own folder; you can change it on My agents afterwards.')
  ]) {
    const paragraph = document.createElement('p');
    paragraph.textContent = line;
    body.appendChild(paragraph);
  }
  const answer = await showDialog({
    title: t('This notebook brings the agent {name}', { name: found.definition.name }),
    body: new Widget({ node: body }), // a widget, not a string: the paragraphs stay apart
    buttons: [Dialog.cancelButton({ label: t('Not now') }), Dialog.okButton({ label: t('Create the agent') })]
  });
  closeKernelQuestion(panel); // asked meanwhile, behind this question
  if (!answer.button.accept) {
    if (dialogs && panel.sessionContext.hasNoKernel) {
      await dialogs.selectKernel(panel.sessionContext); // JupyterLab's own question, as it would have asked
    }
    return;
  }
  try {
    const agent = await call('POST', panel.context.path);
    await panel.context.revert(); // the server pointed the notebook at the new agent's kernel
    await useKernel(panel, specs, `claude-${agent.slug}`);
  } catch (err) {
    await showDialog({
      title: t('The agent could not be created'),
      body: String((err as Error).message ?? err),
      buttons: [Dialog.okButton()]
    });
  }
}

export const recipeAgent: JupyterFrontEndPlugin<void> = {
  id: 'oh-my-agent-lab:recipe-agent',
  description: 'Offers to create the agent a notebook brings when this server lacks it.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISessionContextDialogs],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, dialogs: ISessionContextDialogs | null) => {
    tracker.widgetAdded.connect((_, panel) => {
      offer(panel, app.serviceManager.kernelspecs, dialogs).catch(err =>
        console.warn('oh-my-agent: the notebook’s agent could not be looked up', err)
      );
    });
  }
};

export const shareAsRecipe: JupyterFrontEndPlugin<void> = {
  id: 'oh-my-agent-lab:share-recipe',
  description: 'File › Share as a recipe…: the gallery’s share page for the notebook in front.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    app.commands.addCommand(SHARE_COMMAND, {
      label: t('Share as a recipe…'),
      caption: t('Share as a recipe…'),
      isEnabled: () => tracker.currentWidget !== null,
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        const path = tracker.currentWidget?.context.path;
        if (!path) {
          return;
        }
        const page = URLExt.join(PageConfig.getBaseUrl(), 'recipes/share');
        window.open(`${page}?path=${encodeURIComponent(path)}`, '_blank', 'noopener');
      }
    });
    tracker.currentChanged.connect(() => app.commands.notifyCommandChanged(SHARE_COMMAND));
  }
};
