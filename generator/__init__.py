"""entraform: Entra ID groups to reviewable LiteLLM Terraform or YAML."""

__version__ = "0.1.0"
