/**
 * The words this extension shows, in English and Korean.
 *
 * They follow the platform's language rule (oma_contract/languages.py), as
 * JupyterLab's own words do (agents_extension/server/lab_language.py picks
 * its language pack by the same rule): the language the person picked with
 * the switch on the platform's pages (the ``oma_lang`` cookie), else the
 * browser's. Korean is kept beside the English it translates, so that a new
 * string cannot be added without its translation (tests/hub/test_lab_browser.py
 * shows both).
 */

const KOREAN: Record<string, string> = {
  'Claude wants to use {tool}': 'Claude가 {tool} 도구를 쓰려고 합니다',
  'Allow once': '이번만 허용',
  'Allow {tool} for this session': '이 세션 동안 {tool} 허용',
  Deny: '거부',
  'Or type y (once), a (this session) or n (deny) and press Enter':
    '또는 y(이번만), a(이 세션 동안), n(거부)을 입력하고 Enter를 누르세요',
  'Your answer': '답',
  'Your agents': '내 에이전트',
  'Create your first agent': '첫 에이전트 만들기',
  'Opens My agents, where you give an agent a name and what it should do':
    '내 에이전트를 엽니다. 에이전트의 이름과 할 일을 정하는 곳입니다',
  'Ask {agent}…': '{agent}에게 물어보세요…',
  'Ask Claude…': 'Claude에게 물어보세요…',
  'Your question for {agent}': '{agent}에게 할 질문',
  'Your question for Claude': 'Claude에게 할 질문',
  'Document name': '문서 이름',
  'Ask the agent': '에이전트에게 질문',
  Note: '메모',
  'A question for the agent, or a note of your own the agent does not see':
    '에이전트에게 하는 질문, 또는 에이전트가 보지 않는 내 메모',
  // recipes (recipe_agent.ts)
  'This notebook brings the agent {name}': '이 노트북은 에이전트 {name}을(를) 함께 가져왔습니다',
  'Create it? It will be allowed, without asking: {allowed}.':
    '만들까요? 이 에이전트는 묻지 않고 다음을 할 수 있습니다: {allowed}.',
  'Create it? It will do nothing without asking you first.': '만들까요? 이 에이전트는 무엇이든 먼저 묻고 합니다.',
  'It is created in your server, with its own folder; you can change it on My agents afterwards.':
    '내 서버에 자기 폴더와 함께 만들어지며, 나중에 내 에이전트에서 바꿀 수 있습니다.',
  'Create the agent': '에이전트 만들기',
  'Not now': '나중에',
  'The agent could not be created': '에이전트를 만들지 못했습니다',
  'Share as a recipe…': '레시피로 공유…'
};

/** The cookie in which the platform keeps the language a person picked (oma_contract/languages.py). */
export const LANGUAGE_COOKIE = 'oma_lang';

/** The language the person picked with the platform's switch ("ko", "en"), or '' when they picked none. */
export function pickedLanguage(cookies: string = document.cookie): string {
  for (const cookie of cookies.split(';')) {
    const [name, ...value] = cookie.trim().split('=');
    if (name === LANGUAGE_COOKIE) {
      return decodeURIComponent(value.join('=')).trim().toLowerCase();
    }
  }
  return '';
}

/** Whether the person's language is Korean: their pick on the platform's pages, else the browser's
 * first language of the two (Korean before English). */
export function korean(
  languages: readonly string[] = navigator.languages,
  picked: string = pickedLanguage()
): boolean {
  if (picked === 'ko' || picked === 'en') {
    return picked === 'ko';
  }
  for (const language of languages) {
    const code = language.toLowerCase();
    if (code.startsWith('ko')) {
      return true;
    }
    if (code.startsWith('en')) {
      return false;
    }
  }
  return false;
}

/** ``english`` in the browser's language, with ``{name}`` filled from ``values``. */
export function t(english: string, values: Record<string, string> = {}): string {
  const text = (korean() && KOREAN[english]) || english;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}
