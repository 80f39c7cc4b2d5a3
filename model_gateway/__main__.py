from oma_contract.process_exit import end_without_final_collection

from .app import main

end_without_final_collection()

main()
