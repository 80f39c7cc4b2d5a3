/**
 * The words this extension shows, in English and Korean.
 *
 * JupyterLab translates its own words only through installed language packs,
 * which the platform does not ship; the agents service's pages and the
 * dashboard follow the browser's language, so these words do too.
 * Korean is kept beside the English it translates, so that a new string
 * cannot be added without its translation (tests/hub/test_lab_browser.py
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
  'Ask {agent}…': '{agent}에게 물어보세요…',
  'Ask Claude…': 'Claude에게 물어보세요…'
};

/** Whether the browser asks for Korean first (before English). */
export function korean(languages: readonly string[] = navigator.languages): boolean {
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
