/**
 * The launcher leads with the person's agents, each with its name and
 * description; Python, the plain Claude kernel and the terminal follow. A person
 * without agents yet finds there the way to make one: a card that opens My agents.
 *
 * JupyterLab's notebook plugin adds every kernelspec to the "Notebook"
 * section by display name; an agent's card there ("Claude · Newsletter
 * writer") is hidden by style/index.css, as it is the same notebook as the
 * agent's card in "Your agents".
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';
import { LabIcon } from '@jupyterlab/ui-components';
import { DisposableSet } from '@lumino/disposable';

import { agentName, fetchAgents, IAgentSummary } from './agents';
import { t } from './text';

const COMMAND = 'oh-my-agent:new-agent-notebook';
const FIRST_AGENT_COMMAND = 'oh-my-agent:create-first-agent';

const agentIcon = new LabIcon({
  name: 'oh-my-agent:agent',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" ' +
    'd="M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 ' +
    '1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"/></svg>'
});

export const agentsLauncher: JupyterFrontEndPlugin<void> = {
  id: 'oh-my-agent-lab:launcher',
  description: "Puts the person's agents, with their descriptions, first in the launcher.",
  autoStart: true,
  requires: [ILauncher],
  activate: (app: JupyterFrontEnd, launcher: ILauncher) => {
    const { commands, serviceManager } = app;
    const agents = new Map<string, IAgentSummary>(); // kernel name -> agent
    commands.addCommand(COMMAND, {
      label: args => agents.get(args.kernelName as string)?.name ?? (args.kernelName as string),
      caption: args => agents.get(args.kernelName as string)?.description || '',
      icon: agentIcon,
      iconClass: 'oma-AgentIcon',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            kernelName: { type: 'string', description: "The agent's kernel" },
            cwd: { type: 'string', description: 'The folder to create the notebook in' }
          }
        }
      },
      execute: args => commands.execute('notebook:create-new', { kernelName: args.kernelName, cwd: args.cwd })
    });

    commands.addCommand(FIRST_AGENT_COMMAND, {
      label: t('Create your first agent'),
      caption: t('Opens My agents, where you give an agent a name and what it should do'),
      icon: agentIcon,
      iconClass: 'oma-AgentIcon',
      execute: () => {
        window.open(URLExt.join(PageConfig.getBaseUrl(), 'agents'), '_blank', 'noopener');
      }
    });

    let cards = new DisposableSet();
    const refresh = async () => {
      await serviceManager.kernelspecs.ready;
      const specs = serviceManager.kernelspecs.specs?.kernelspecs ?? {};
      const known = await fetchAgents();
      cards.dispose();
      cards = new DisposableSet();
      agents.clear();
      for (const [kernelName, spec] of Object.entries(specs)) {
        if (!spec) {
          continue;
        }
        const meta = (spec.metadata?.['oh-my-agent'] ?? {}) as { agent_id?: string };
        const name = agentName(spec.display_name);
        if (!meta.agent_id || name === null) {
          continue;
        }
        agents.set(kernelName, known.get(meta.agent_id) ?? { id: meta.agent_id, name, description: '' });
        cards.add(
          launcher.add({
            command: COMMAND,
            args: { isLauncher: true, kernelName },
            category: t('Your agents'),
            categoryRank: -1, // before "Notebook" (0)
            metadata: { agentId: meta.agent_id }
          })
        );
      }
      if (agents.size === 0) {
        cards.add(
          launcher.add({ command: FIRST_AGENT_COMMAND, category: t('Your agents'), categoryRank: -1 })
        );
      }
    };
    serviceManager.kernelspecs.specsChanged.connect(() => void refresh());
    void refresh();
  }
};
