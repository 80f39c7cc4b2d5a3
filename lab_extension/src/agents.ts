/**
 * Which kernels are Claude's, and the person's agents behind them.
 *
 * The agents dashboard (agents_extension/server/workspace.py) writes one
 * kernelspec per agent, ``claude-<folder>``, displayed "Claude · <name>" and
 * carrying the agent's id in ``metadata["oh-my-agent"]``; the plain kernel
 * is ``claude``. The agents' descriptions come from the server's
 * ``/api/agents``, which forwards to the agents service.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export const AGENT_DISPLAY_PREFIX = 'Claude · ';

export function isClaudeKernel(name: string | undefined | null): boolean {
  return !!name && (name === 'claude' || name.startsWith('claude-'));
}

/** The agent's name from its kernel's display name; null for the plain Claude kernel. */
export function agentName(displayName: string): string | null {
  return displayName.startsWith(AGENT_DISPLAY_PREFIX) ? displayName.slice(AGENT_DISPLAY_PREFIX.length) : null;
}

export interface IAgentSummary {
  id: string;
  name: string;
  description: string;
}

/** The person's agents by id, or an empty map when the agents service cannot be asked right now. */
export async function fetchAgents(): Promise<Map<string, IAgentSummary>> {
  const settings = ServerConnection.makeSettings();
  const found = new Map<string, IAgentSummary>();
  try {
    const response = await ServerConnection.makeRequest(URLExt.join(settings.baseUrl, 'api/agents'), {}, settings);
    if (!response.ok) {
      return found;
    }
    const agents = (await response.json()) as IAgentSummary[];
    for (const agent of agents) {
      found.set(agent.id, { id: agent.id, name: agent.name, description: agent.description ?? '' });
    }
  } catch (err) {
    console.warn('oh-my-agent: the agents could not be read for the launcher', err);
  }
  return found;
}
