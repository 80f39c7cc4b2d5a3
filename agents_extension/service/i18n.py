"""The service's pages in Korean or English, chosen by the browser's language."""

from __future__ import annotations

LANGUAGES = ("en", "ko")

TEXT = {
    "apply.title": {"en": "Apply for the beta", "ko": "베타 신청"},
    "apply.intro": {
        "en": "oh-my-agent is in beta. Tell us what you would like your agents to do, and an admin will review your application.",
        "ko": "oh-my-agent는 베타 서비스 중입니다. 에이전트로 하고 싶은 일을 알려주시면 관리자가 신청을 검토합니다.",
    },
    "apply.name": {"en": "Your name", "ko": "이름"},
    "apply.purpose": {"en": "What do you want your agents to do?", "ko": "에이전트로 무엇을 하고 싶으신가요?"},
    "apply.organisation": {"en": "Organisation (optional)", "ko": "소속 (선택)"},
    "apply.submit": {"en": "Apply", "ko": "신청하기"},
    "status.pending": {
        "en": "Thank you! Your application is waiting for review. We sent a confirmation to {email}.",
        "ko": "감사합니다! 신청이 검토를 기다리고 있습니다. {email}(으)로 접수 확인 메일을 보냈습니다.",
    },
    "status.approved": {
        "en": "You are in the beta. Start your server from the home page.",
        "ko": "베타 승인이 완료되었습니다. 홈에서 서버를 시작하세요.",
    },
    "status.rejected": {
        "en": "Your application was not accepted this time. You may apply again below.",
        "ko": "이번에는 신청이 승인되지 않았습니다. 아래에서 다시 신청하실 수 있습니다.",
    },
    "home": {"en": "Go to the home page", "ko": "홈으로 가기"},
    "nav.label": {"en": "oh-my-agent", "ko": "oh-my-agent"},
    "nav.home": {"en": "Home", "ko": "홈"},
    "logout": {"en": "Logout", "ko": "로그아웃"},
    "admin.title": {"en": "Beta applications", "ko": "베타 신청 관리"},
    "admin.pending": {"en": "Pending", "ko": "대기 중"},
    "admin.approved": {"en": "Approved", "ko": "승인됨"},
    "admin.rejected": {"en": "Rejected", "ko": "거절됨"},
    "admin.none": {"en": "Nobody here.", "ko": "해당하는 사람이 없습니다."},
    "admin.note": {"en": "Note to include in the e-mail (optional)", "ko": "메일에 담을 메모 (선택)"},
    "admin.approve": {"en": "Approve selected", "ko": "선택 승인"},
    "admin.reject": {"en": "Reject selected", "ko": "선택 거절"},
    "admin.applied": {"en": "Applied", "ko": "신청일"},
    "admin.decided": {"en": "Decided", "ko": "결정"},
    "admin.done": {"en": "{count} decision(s) saved; {mailed} e-mail(s) queued.",
                   "ko": "{count}건 처리했습니다. 메일 {mailed}통을 보낼 예정입니다."},
    "admin.unchanged": {"en": "Already decided that way, so nothing changed and no e-mail was queued: {people}.",
                        "ko": "이미 같은 결정이 되어 있어 변경도 메일도 없습니다: {people}."},
    "admin.revoked": {"en": "Access revoked: the running servers of {people} were stopped.",
                      "ko": "접근 권한을 회수했습니다. 다음 사람의 실행 중인 서버를 중지했습니다: {people}."},
    "admin.revoke_note": {
        "en": "Rejecting someone who is approved revokes their access and stops their running server, as does removing "
              "them from the beta group in JupyterHub's admin panel.",
        "ko": "승인된 사람을 거절하면 접근 권한이 회수되고 실행 중인 서버가 중지됩니다. JupyterHub 관리 패널에서 beta 그룹에서 빼도 같습니다.",
    },
    "admin.pick": {"en": "Select at least one person.", "ko": "한 명 이상 선택하세요."},
    "outbox.title": {"en": "Outbox", "ko": "보낼 편지함"},
    "outbox.intro": {
        "en": "E-mails the platform has queued. Without SMTP settings (local mode) they stay here.",
        "ko": "플랫폼이 보낼 메일입니다. SMTP 설정이 없으면(로컬 모드) 여기에 남아 있습니다.",
    },
}


def pick_language(accept_language: str | None) -> str:
    """The first of our languages in an Accept-Language header, by weight; English otherwise."""
    choices = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and weight > 0:
            choices.append((-weight, position, primary))
    return min(choices)[2] if choices else "en"


def translator(language: str):
    def t(key: str, **values: object) -> str:
        text = TEXT[key].get(language) or TEXT[key]["en"]
        return text.format(**values) if values else text
    return t
