"""EngineSlot: which engine a request answers with across hot reloads (no HTTP)."""

from __future__ import annotations

import threading

from qa.service.engines import EngineSlot


class Eng:
    def __init__(self, name):
        self.name, self.closed = name, False

    def close(self):
        self.closed = True


def test_a_held_engine_survives_two_swaps_and_is_closed_by_its_last_user():
    a, b, c = Eng("a"), Eng("b"), Eng("c")
    slot = EngineSlot(a)
    with slot.use() as held:
        slot.swap(b)
        slot.swap(c)
        assert held is a and not a.closed and slot.current is c
        assert b.closed  # nobody used b: closed at once
    assert a.closed and not c.closed


def test_an_idle_engine_is_closed_when_swapped_and_none_before_the_first_load():
    slot = EngineSlot()
    with slot.use() as held:
        assert held is None
    a = Eng("a")
    assert slot.swap(a) is None
    assert slot.swap(Eng("b")) is a and a.closed


def test_concurrent_users_and_swaps_never_close_an_engine_in_use():
    slot = EngineSlot(Eng("0"))
    problems = []
    stop = threading.Event()

    def user():
        while not stop.is_set():
            with slot.use() as e:
                if e.closed:
                    problems.append(e.name)

    threads = [threading.Thread(target=user) for _ in range(8)]
    for t in threads:
        t.start()
    for i in range(1, 300):
        slot.swap(Eng(str(i)))
    stop.set()
    for t in threads:
        t.join()
    assert not problems and not slot.current.closed
