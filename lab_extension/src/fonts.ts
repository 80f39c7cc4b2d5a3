/**
 * Korean reads on a machine without a Korean font, as on the platform's other pages: the hub serves
 * Noto Sans KR (oma_contract/web_fonts, declared for Hangul only), and this links its stylesheet into
 * JupyterLab; style/index.css puts the family into JupyterLab's font stacks.
 */

import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';

/** Where the hub serves the web font's stylesheet (hub_config/language.py), under its prefix. */
export const WEB_FONT_STYLESHEET = 'oma-fonts/noto-sans-kr.css';
const LINK_ID = 'oma-web-font';

/** The stylesheet's URL for a hub prefix ("/hub/"), or null outside a hub (no prefix given). */
export function webFontURL(hubPrefix: string): string | null {
  return hubPrefix ? URLExt.join(hubPrefix, WEB_FONT_STYLESHEET) : null;
}

export const koreanFont: JupyterFrontEndPlugin<void> = {
  id: 'oh-my-agent-lab:korean-font',
  description: 'Links the hub-served Korean web font, so Hangul renders without local fonts.',
  autoStart: true,
  activate: (): void => {
    const href = webFontURL(PageConfig.getOption('hubPrefix'));
    if (!href || document.getElementById(LINK_ID)) {
      return;
    }
    const link = document.createElement('link');
    link.id = LINK_ID;
    link.rel = 'stylesheet';
    link.href = href;
    document.head.appendChild(link);
  }
};
