/**
 * The Claude kernel's permission question as three buttons in the cell.
 *
 * The kernel asks through the ordinary Jupyter input request
 * (``raw_input``), so that every front end (nbclient, VS Code, a plain
 * JupyterLab) can answer by typing. Its question has one fixed form, written
 * by ``claude_kernel.kernel.PERMISSION_PROMPT``; this module recognises it
 * and shows buttons instead of a bare text box. The text box stays, so
 * typing y, a or n and Enter still answers, and either way the answer goes
 * back as the normal ``input_reply``: the kernel cannot tell them apart.
 */

import { IStdin, Stdin } from '@jupyterlab/outputarea';
import { PromiseDelegate } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { t } from './text';

// permission-prompt-pattern: tests/kernel/test_permission_prompt.py checks that this
// pattern matches what the kernel asks, so keep it on one line.
export const PERMISSION_PROMPT = /^Allow (.+)\?  y = once, a = always this session, n = no: $/;

/** The tool and what it would do, from the kernel's summary ("Bash: touch hello.txt"). */
export function parseSummary(summary: string): { tool: string; detail: string } {
  const colon = summary.indexOf(': ');
  if (colon < 0) {
    return { tool: summary, detail: '' };
  }
  return { tool: summary.slice(0, colon), detail: summary.slice(colon + 2) };
}

let promptCount = 0;

/**
 * A permission question with its answers as buttons; an ``IStdin``, so the
 * output area keeps the answer in the cell as it does for typed input.
 */
export class PermissionPrompt extends Widget implements IStdin {
  constructor(options: Stdin.IOptions, summary: string) {
    super();
    this._future = options.future;
    this._parentHeader = options.parent_header;
    this._value = options.prompt + ' ';
    this.addClass('jp-Stdin');
    this.addClass('oma-PermissionPrompt');

    const { tool, detail } = parseSummary(summary);
    const id = `oma-permission-${++promptCount}`;
    const node = this.node;
    node.setAttribute('role', 'group');
    node.setAttribute('aria-labelledby', `${id}-question`);

    const question = document.createElement('p');
    question.id = `${id}-question`;
    question.className = 'oma-PermissionPrompt-question';
    question.textContent = t('Claude wants to use {tool}', { tool });
    node.appendChild(question);
    if (detail) {
      const what = document.createElement('pre');
      what.className = 'oma-PermissionPrompt-detail';
      what.textContent = detail;
      node.appendChild(what);
    }

    const buttons = document.createElement('div');
    buttons.className = 'oma-PermissionPrompt-buttons';
    const choices: [string, string, string][] = [
      ['y', t('Allow once'), 'jp-mod-accept'],
      ['a', t('Allow {tool} for this session', { tool }), 'jp-mod-accept oma-mod-secondary'],
      ['n', t('Deny'), 'jp-mod-warn']
    ];
    for (const [answer, label, style] of choices) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `jp-Button jp-mod-styled ${style}`;
      button.dataset.answer = answer;
      button.textContent = label;
      button.addEventListener('click', () => this._answer(answer));
      buttons.appendChild(button);
      this._buttons.push(button);
    }
    node.appendChild(buttons);

    const keys = document.createElement('label');
    keys.className = 'oma-PermissionPrompt-keys';
    const hint = document.createElement('span');
    hint.textContent = t('Or type y (once), a (this session) or n (deny) and press Enter');
    this._input = document.createElement('input');
    this._input.className = 'jp-Stdin-input';
    this._input.setAttribute('aria-label', t('Your answer'));
    this._input.autocomplete = 'off';
    keys.append(hint, this._input);
    node.appendChild(keys);
  }

  /** What the cell keeps once answered: the kernel's question and the answer, as for typed input. */
  get value(): Promise<string> {
    return this._done.promise.then(() => this._value);
  }

  handleEvent(event: Event): void {
    // The notebook must not take these keys as its shortcuts (e.g. y: turn the cell into code).
    event.stopPropagation();
    if (event.type === 'keydown' && (event as KeyboardEvent).key === 'Enter' && event.target === this._input) {
      event.preventDefault();
      this._answer(this._input.value);
    }
  }

  protected onAfterAttach(): void {
    this.node.addEventListener('keydown', this);
    // The question may arrive below the bottom edge of the screen, where nobody would see it.
    requestAnimationFrame(() => {
      this.node.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    });
    this._input.focus({ preventScroll: true });
  }

  protected onBeforeDetach(): void {
    this.node.removeEventListener('keydown', this);
  }

  private _answer(answer: string): void {
    if (this._answered) {
      return;
    }
    this._answered = true;
    for (const button of this._buttons) {
      button.disabled = true;
    }
    this._input.disabled = true;
    this._future.sendInputReply({ status: 'ok', value: answer }, this._parentHeader);
    this._value += answer;
    this._done.resolve();
  }

  private _answered = false;
  private _buttons: HTMLButtonElement[] = [];
  private _done = new PromiseDelegate<void>();
  private _future: Stdin.IOptions['future'];
  private _input: HTMLInputElement;
  private _parentHeader: Stdin.IOptions['parent_header'];
  private _value: string;
}

/** The prompt widget for an input request: the buttons for the kernel's permission question, else JupyterLab's. */
export function stdinFor(options: Stdin.IOptions, fallback: (options: Stdin.IOptions) => IStdin): IStdin {
  const match = options.password ? null : PERMISSION_PROMPT.exec(options.prompt);
  return match ? new PermissionPrompt(options, match[1]) : fallback(options);
}
