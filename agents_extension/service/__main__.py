import sys

# jsonschema (through nbformat, which the gallery's previews use) compiles a Lark grammar for RFC 3987
# IRIs at import when rfc3987_syntax is installed: 1-2 s of every start of the service, for a format
# nothing here checks (see agents_extension/user_server.py). Without the module it is left unchecked.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from oma_contract.process_exit import end_without_final_collection  # noqa: E402

from .app import main  # noqa: E402

end_without_final_collection()

main()
