"""Reference agents for `pytest scenarios --rlvr-agent=MODULE:CALLABLE` (see `pytest_rlvr.agent`).

- `scenarios.agents.http_oracle:agent`: the scenarios' reference solutions, sent as REST requests with
  `requests` (scores 1.0 on every task: the trace rebuilt from the request log loses nothing).
- `scenarios.agents.mcp_oracle:agent`: the same solutions through the site's MCP endpoint with the `mcp` client.
- `scenarios.agents.model_mcp:agent`: a model (the embedded one, a checkpoint, or an OpenAI-compatible server)
  driving the MCP endpoint: a template to copy.
"""
