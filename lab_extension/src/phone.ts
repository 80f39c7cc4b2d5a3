/**
 * JupyterLab on a phone: one document at a time with the side panels
 * closed, in a layout of its own.
 *
 * JupyterLab saves the layout (open documents, panel sizes, the mode) to the
 * workspace named by its window resolver, and restores it on the next
 * visit. A phone visit saving there would greet the next desktop visit with
 * the phone's layout, so on a narrow screen the resolver names a workspace of
 * its own, "<workspace>-phone". This replaces JupyterLab's resolver plugin
 * (@jupyterlab/apputils-extension:resolver, disabled in package.json) with
 * the same resolution and that one difference.
 */

import {
  ILabShell,
  IRouter,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IWindowResolver, WindowResolver } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';

import { t } from './text';

/** Screens this narrow (CSS pixels) are phones: 390 px portrait, and phones held sideways up to 600 px. */
export const PHONE_QUERY = '(max-width: 600px)';
export const PHONE_SUFFIX = '-phone';

export function onPhone(): boolean {
  return window.matchMedia(PHONE_QUERY).matches;
}

export const phoneWorkspace: JupyterFrontEndPlugin<IWindowResolver> = {
  id: 'oh-my-agent-lab:resolver',
  description: 'Provides the window name resolver, with a workspace of its own for phones.',
  autoStart: true,
  provides: IWindowResolver,
  requires: [JupyterFrontEnd.IPaths, IRouter],
  activate: async (_app: JupyterFrontEnd, paths: JupyterFrontEnd.IPaths, router: IRouter) => {
    const { hash, search } = router.current;
    const query = URLExt.queryStringToObject(search || '');
    const solver = new WindowResolver();
    const workspace = PageConfig.getOption('workspace') || PageConfig.defaultWorkspace;
    const treePath = PageConfig.getOption('treePath');
    const mode = PageConfig.getOption('mode') === 'multiple-document' ? 'lab' : 'doc';
    const candidate = onPhone() ? workspace + PHONE_SUFFIX : workspace;
    try {
      await solver.resolve(candidate);
      return solver;
    } catch {
      // As JupyterLab's resolver: another window holds this workspace, so this one moves to a
      // fresh one, and the promise never resolves so that nothing loads before the navigation.
      return new Promise<IWindowResolver>(() => {
        const pool = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
        const random = pool[Math.floor(Math.random() * pool.length)];
        let path = URLExt.join(paths.urls.base, mode, 'workspaces', `auto-${random}`);
        const rest = treePath ? URLExt.join('tree', treePath) : '';
        path = rest ? URLExt.join(path, URLExt.encodeParts(rest)) : path;
        query['reset'] = '1';
        router.navigate(path + URLExt.objectToQueryString(query) + (hash || ''), { hard: true });
      });
    }
  }
};

export const phoneLayout: JupyterFrontEndPlugin<void> = {
  id: 'oh-my-agent-lab:phone-layout',
  description: 'On a phone: one document at a time, side panels closed.',
  autoStart: true,
  requires: [ILabShell],
  activate: (app: JupyterFrontEnd, shell: ILabShell) => {
    if (!onPhone()) {
      return;
    }
    document.body.classList.add('oma-mod-phone');
    void app.restored.then(() => {
      shell.mode = 'single-document';
      shell.collapseLeft();
      shell.collapseRight();
      // The document's name above it, which single-document mode shows, is a field JupyterLab names by
      // its title attribute only (axe-core's label-title-only): give screen readers its name.
      document.querySelector('#jp-title-panel-title input')?.setAttribute('aria-label', t('Document name'));
    });
  }
};
