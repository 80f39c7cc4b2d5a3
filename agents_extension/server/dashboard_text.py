"""The agents dashboard's words, in English and Korean."""

from __future__ import annotations

TEXT = {
    "title": {"en": "My agents", "ko": "내 에이전트"},
    "new": {"en": "New agent", "ko": "새 에이전트"},
    "empty": {"en": "No agents yet. Create one: give it a name and tell it what to do.",
              "ko": "아직 에이전트가 없습니다. 이름과 할 일을 적어 하나 만들어 보세요."},
    "name": {"en": "Name", "ko": "이름"},
    "description": {"en": "Description", "ko": "설명"},
    "instructions": {"en": "Instructions (what the agent should always do)", "ko": "지침 (에이전트가 항상 따를 내용)"},
    "model": {"en": "Model", "ko": "모델"},
    "default_model": {"en": "Claude Code's default", "ko": "Claude Code 기본값"},
    "permission_mode": {"en": "Permission mode", "ko": "권한 모드"},
    "allowed_tools": {"en": "Tools used without asking (comma-separated, e.g. Read, Write, Bash(ls:*))",
                      "ko": "묻지 않고 쓸 도구 (쉼표로 구분, 예: Read, Write, Bash(ls:*))"},
    "disallowed_tools": {"en": "Tools never used (comma-separated)", "ko": "쓰지 않을 도구 (쉼표로 구분)"},
    "max_turns": {"en": "Max turns per cell", "ko": "셀당 최대 턴"},
    "max_budget_usd": {"en": "Budget per cell (USD)", "ko": "셀당 예산 (USD)"},
    "status": {"en": "Status", "ko": "상태"},
    "draft": {"en": "draft", "ko": "초안"},
    "active": {"en": "active", "ko": "사용 중"},
    "paused": {"en": "paused", "ko": "일시 중지"},
    "save": {"en": "Save", "ko": "저장"},
    "cancel": {"en": "Cancel", "ko": "취소"},
    "edit": {"en": "Edit", "ko": "편집"},
    "delete": {"en": "Delete", "ko": "삭제"},
    "confirm_delete": {"en": "Delete this agent? Its folder moves to agents/.trash, nothing is lost.",
                       "ko": "이 에이전트를 삭제할까요? 폴더는 agents/.trash로 옮겨지며 지워지지 않습니다."},
    "open": {"en": "Open a notebook with this agent", "ko": "이 에이전트로 노트북 열기"},
    "sessions": {"en": "sessions", "ko": "세션"},
    "turns": {"en": "turns", "ko": "턴"},
    "tokens": {"en": "tokens", "ko": "토큰"},
    "cost": {"en": "cost", "ko": "비용"},
    "last_used": {"en": "last used", "ko": "마지막 사용"},
    "never": {"en": "never", "ko": "없음"},
    "hub": {"en": "Hub home", "ko": "허브 홈"},
    "lab": {"en": "JupyterLab", "ko": "JupyterLab"},
    "saved": {"en": "Saved.", "ko": "저장했습니다."},
}


def dashboard_text(language: str) -> dict[str, str]:
    return {key: value.get(language) or value["en"] for key, value in TEXT.items()}
