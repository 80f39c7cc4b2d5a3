"""Recipes in a person's server: notebooks that carry their agent, run again headless with other inputs.

``notebook`` reads and changes recipe notebooks (the parameters cell, the agent
definition, the cells' provenance); ``runner`` runs one headless on its agent's
Claude kernel (nbclient) and writes ``runs/<recipe>-<time>.ipynb``; ``cli`` is
``oh-my-agent run``; ``papermill_translator`` lets papermill inject parameters
into a Claude notebook. The words and syntax shared with the kernel and the
gallery are in oma_contract.recipe and oma_contract.parameters.
"""
