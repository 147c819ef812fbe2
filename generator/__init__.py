"""entraform: Entra ID groups to reviewable LiteLLM Terraform or YAML."""
