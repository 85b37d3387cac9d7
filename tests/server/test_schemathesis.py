"""Property-based tests of the whole OpenAPI spec: no 500s, answers that match the spec.

Bounded (few examples per operation, no shrinking) so the suite stays quick; runs on
both databases: the spec is read once from one app, whose database is swapped in for
each test. Each case carries the right token for its operation, so generated data
reaches the handlers instead of stopping at 401.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy.engine import Engine

from server.app import create_app
from server.config import LimitsSection, Settings
from tests.server.conftest import add_checkpoint, enrol, official_token

MAX_EXAMPLES = 12
APP = create_app(Settings(limits=LimitsSection(device_batches_per_s=10_000, device_burst=10_000)), engine=None)  # type: ignore[arg-type]
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture
def tokens(engine: Engine) -> dict[str, object]:
    APP.state.engine = engine
    add_checkpoint(engine)
    return {"device": enrol(engine), "official": official_token(engine)}


# Left out, on purpose:
# - positive_data_acceptance counts every 400 as a failure, but checks no schema can state
#   (a window that ends before it starts, a CSV row with a bad date) answer 400 with a code;
# - negative_data_rejection: on the batch a malformed visit is answered per visit
#   (`rejected`, code, reason) inside a 200, so one bad visit never fails the others; on
#   every operation its "missing Authorization header" cases are undone by this test
#   putting the token back on each request, and FastAPI ignores unknown query
#   parameters by design, so the check failed at random (1 run in 3) on correct answers.
#   Missing and wrong tokens are tested directly in test_enrolment.py and test_tracing.py.
EXCLUDED = [schemathesis.checks.positive_data_acceptance, schemathesis.checks.negative_data_rejection]
EXCLUDED_FOR_BATCH = EXCLUDED


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)
)
def test_api_conforms_to_its_spec(case: schemathesis.Case, tokens: dict[str, object]) -> None:
    device_id, device_token = tokens["device"]  # type: ignore[misc]
    kiosk = case.path.endswith(("/visits/batch", "/device"))
    if kiosk and isinstance(case.body, dict) and isinstance(case.body.get("device_id"), str):
        case.body["device_id"] = device_id  # the token's own device, so the visits get looked at
    case.call_and_validate(
        headers={"Authorization": f"Bearer {device_token if kiosk else tokens['official']}"},
        excluded_checks=EXCLUDED_FOR_BATCH if kiosk else EXCLUDED,
    )
