"""The live LiteLLM: a read-only client, adoption of what it already has, and drift."""
