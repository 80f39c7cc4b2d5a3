# The one JupyterHub configuration of oh-my-agent, for both modes.
# Everything is chosen by settings whose defaults come from environment variables
# (hub_config/settings.py, the README's settings tables); c.Settings.<setting> set
# here, before configure, wins over its variable.
from hub_config.platform import configure
from oma_contract.process_exit import end_without_final_collection

end_without_final_collection()  # a third of the whole platform's stop, otherwise

configure(get_config())  # noqa: F821 (get_config is provided by JupyterHub)
