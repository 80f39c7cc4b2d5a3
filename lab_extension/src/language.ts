/**
 * One language choice for a person, wherever they make it.
 *
 * JupyterLab speaks the platform's language for the person: its language
 * setting stays "default", which the agents extension answers by the
 * platform's rule, the ``oma_lang`` switch of the hub's pages, else the
 * browser (agents_extension/server/lab_language.py). JupyterLab's own
 * Settings → Language menu would make a second, separate choice: it writes
 * an explicit locale into the person's settings, which then outranks the
 * hub's switch in JupyterLab forever, while the hub's pages and the
 * dashboard never hear of it.
 *
 * So a language picked in that menu becomes the platform's choice: on the
 * load that follows it (JupyterLab reloads after the change), the pick goes
 * into the platform's cookie, and the setting is handed back to "default"
 * (the person's own value removed, so an administrator's override still
 * holds). This load already shows the picked language; the next ones, and
 * the hub's pages, follow the cookie. A locale the platform's pages do not
 * speak is left to JupyterLab alone.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { LANGUAGE_COOKIE } from './text';

const TRANSLATION_SETTINGS = '@jupyterlab/translation-extension:plugin';
const LANGUAGE_COOKIE_SECONDS = 365 * 24 * 60 * 60; // as the hub keeps it (oma_contract/languages.py)

/** The platform's language ("ko", "en") of a JupyterLab locale ("ko_KR", "en-US"), or '' for one it has not. */
export function platformLanguage(locale: string): string {
  const primary = locale.split(/[-_]/)[0].toLowerCase();
  return primary === 'ko' || primary === 'en' ? primary : '';
}

/** Keeps ``language`` as the person's pick, as the hub's switch does (path /, a year, not HttpOnly). */
export function keepLanguage(language: string): void {
  document.cookie = `${LANGUAGE_COOKIE}=${language}; path=/; max-age=${LANGUAGE_COOKIE_SECONDS}; SameSite=Lax`;
}

export const languageChoice: JupyterFrontEndPlugin<void> = {
  id: 'oh-my-agent-lab:language',
  description: "Makes a language picked in JupyterLab's Settings → Language menu the person's choice everywhere.",
  autoStart: true,
  requires: [ISettingRegistry],
  activate: async (_app: JupyterFrontEnd, registry: ISettingRegistry) => {
    const settings = await registry.load(TRANSLATION_SETTINGS);
    const picked = settings.user.locale;
    if (typeof picked !== 'string' || picked === 'default') {
      return;
    }
    const language = platformLanguage(picked);
    if (!language) {
      return;
    }
    keepLanguage(language);
    await settings.remove('locale');
  }
};
