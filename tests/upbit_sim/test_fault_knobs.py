"""The Upbit simulator's random faults, as ``SIM_FAULTS`` gives them: a drawn 429 burst answers the request and
the next ones of the burst, a drawn 418 block starts at that request, a drawn lost order response is consumed once;
the same seed draws the same faults."""

from stock_manager.adapters.broker.upbit_sim.faults import UpbitFaultKnobs
from stock_manager.entrypoints.venues import parse_faults


def test_random_faults_when_given_as_sim_faults_then_the_knobs_are_set() -> None:
    knobs = parse_faults(
        "rate_limit_probability=0.25,rate_limit_burst=3,block_probability=0.125,lost_order_probability=0.5,seed=9",
        UpbitFaultKnobs,
    )

    assert (knobs.rate_limit_probability, knobs.rate_limit_burst, knobs.block_probability) == (0.25, 3, 0.125)
    assert (knobs.lost_order_probability, knobs.seed) == (0.5, 9)


def test_rate_limit_burst_when_drawn_then_that_request_and_the_rest_of_the_burst_are_429() -> None:
    knobs = UpbitFaultKnobs(rate_limit_probability=1.0, rate_limit_burst=3)

    first = knobs.take_request_fault()
    knobs.rate_limit_probability = 0.0
    rest = [knobs.take_request_fault() for _ in range(3)]

    assert [first, *rest] == ["rate_limit", "rate_limit", "rate_limit", None]


def test_rate_limit_burst_when_drawn_during_one_then_it_does_not_grow() -> None:
    # Bursts follow each other but never chain into one long burst (which a client backs off exponentially).
    knobs = UpbitFaultKnobs(rate_limit_probability=1.0, rate_limit_burst=2)

    knobs.take_request_fault()

    assert knobs.rate_limited_requests == 1


def test_block_when_drawn_then_it_comes_before_any_429_or_5xx() -> None:
    knobs = UpbitFaultKnobs(block_probability=1.0, rate_limit_probability=1.0, error5xx_probability=1.0)

    assert knobs.take_request_fault() == "block"


def test_lost_order_response_when_drawn_then_consumed_once_in_the_mode_set() -> None:
    knobs = UpbitFaultKnobs(lost_order_probability=1.0, lost_mode="close")

    lost = knobs.take_lost_response()
    knobs.lost_order_probability = 0.0

    assert (lost, knobs.take_lost_response()) == ("close", None)


def test_random_faults_when_reseeded_then_the_same_faults_are_drawn() -> None:
    knobs = UpbitFaultKnobs(rate_limit_probability=0.3, error5xx_probability=0.2, lost_order_probability=0.4, seed=5)

    def draw() -> list[object]:
        return [(knobs.take_request_fault(), knobs.take_lost_response()) for _ in range(50)]

    first = draw()
    knobs.reseed()
    knobs.rate_limited_requests = knobs.lost_order_responses = 0

    assert draw() == first
    assert {fault for fault, _ in first} == {None, "rate_limit", "error500"}
