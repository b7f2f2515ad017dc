"""What the checks pay is held to a golden file: every check outcome of the shipped scripted policies on
every eval task. A change to a check that changes any outcome fails here until the file is rewritten
(`python -m scenarios.scoring --golden tests/golden/check-outcomes.json`) and the diff reviewed."""

import json
from pathlib import Path

from scenarios import SCENARIOS
from scenarios.scoring import outcomes

GOLDEN = Path(__file__).parent / "golden" / "check-outcomes.json"


def test_check_outcomes_match_the_golden_file():
    want = json.loads(GOLDEN.read_text())
    got = outcomes(list(SCENARIOS.values()))
    diffs = [f"{s}/{p}/{t}: {want[s][p].get(t)} -> {row}"
             for s in got for p in got[s] for t, row in got[s][p].items() if want.get(s, {}).get(p, {}).get(t) != row]
    assert sorted(want) == sorted(got)
    assert not diffs, (f"{len(diffs)} check outcomes changed; review, then rewrite {GOLDEN.name}:\n"
                       + "\n".join(diffs[:20]))
