"""Training sees the tools evaluation shows: one source, the catalog."""

import json

import pytest

from scenarios import SCENARIOS
from scenarios.atlassian import catalog


@pytest.mark.parametrize("name", catalog.ALL_TOOLS)
def test_get_json_schema_of_the_training_method_equals_the_catalog_definition(name):
    from transformers.utils import get_json_schema

    from train.tools import method

    class Holder:
        pass

    setattr(Holder, name, method(name))
    schema = get_json_schema(getattr(Holder(), name))
    assert json.dumps(schema) == json.dumps(catalog.tool(name).definition)


def test_environment_tools_answer_like_the_world_and_reset_rebuilds():
    from train.environment import environment_class

    scenario = SCENARIOS["jira_labels"]
    env = environment_class(scenario)()
    task = scenario.tasks("train", count=1)[0]
    env.reset(seed=task.seed, split="train")
    key = next(iter(task.data.expected))
    out = json.loads(env.getIssue(issueIdOrKey=key, fields=["labels"]))
    assert out["status"] == 200 and out["body"]["key"] == key
    env.editIssue(issueIdOrKey=key, update={"labels": [{"add": "zzz"}]})
    assert env.world.state_diff()
    env.reset(seed=task.seed, split="train")
    assert env.calls == [] and env.world.state_diff() == {}
