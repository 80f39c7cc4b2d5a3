from ipykernel.kernelapp import IPKernelApp

from oma_contract.process_exit import end_without_final_collection

from .kernel import ClaudeKernel

end_without_final_collection()
IPKernelApp.launch_instance(kernel_class=ClaudeKernel)
