"""Starts the Claude kernel (its kernelspec runs ``python -m claude_kernel -f {connection_file}``);
``python -m claude_kernel --help-all`` lists its settings, each with its environment variable."""

from ipykernel.kernelapp import IPKernelApp

from oma_contract.process_exit import end_without_final_collection

from .kernel import ClaudeKernel


class ClaudeKernelApp(IPKernelApp):
    """ipykernel's kernel application, running the Claude kernel and listing its settings in --help-all."""

    classes = [*IPKernelApp.classes, ClaudeKernel]


end_without_final_collection()
ClaudeKernelApp.launch_instance(kernel_class=ClaudeKernel)
