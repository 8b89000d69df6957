"""The `orders` suite: support tools that enforce the shop's written policy and cite the rule when they refuse."""

from __future__ import annotations

from collections import Counter

import pytest

from toolkit.environment import get_suite
from toolkit.jsonschema_utils import validation_errors
from toolkit.template_rendering import render_tasks
from toolkit.templates import load_templates
from tools.orders import POLICIES, OrdersEnvironment


@pytest.fixture
def env() -> OrdersEnvironment:
    return OrdersEnvironment()


def ok(env: OrdersEnvironment, name: str, /, **arguments):
    result = env.call(name, arguments)
    assert not result.is_error, result.content
    return result.structured


def refused(env: OrdersEnvironment, name: str, /, **arguments) -> str:
    before = env.snapshot()
    result = env.call(name, arguments)
    assert result.is_error, f"{name}({arguments}) should have been refused: {result.content[:200]}"
    assert env.snapshot() == before, "a refused call must not change the state"
    return result.content


def refund(order_id: str, sku: str, quantity: int = 1, reason: str = "damaged") -> dict:
    return {"order_id": order_id, "items": [{"sku": sku, "quantity": quantity}], "reason": reason}


# ---- read tools ----------------------------------------------------------------------------------------------------


def test_customers_are_found_by_exact_email_or_partial_name(env):
    assert ok(env, "find_customer", email="ANA.SILVA@example.com")["customers"] == [
        {"customer_id": "C-1001", "name": "Ana Silva", "email": "ana.silva@example.com"}]
    assert [c["customer_id"] for c in ok(env, "find_customer", name="ana")["customers"]] == ["C-1001", "C-1007"]
    assert ok(env, "find_customer", email="nobody@example.com") == {"customers": [], "count": 0}
    assert "give an email or a name" in refused(env, "find_customer")


def test_a_customer_profile_carries_tier_address_and_order_ids(env):
    profile = ok(env, "get_customer", customer_id="C-1002")
    assert (profile["tier"], profile["order_ids"]) == ("standard", ["O-5002", "O-5003"])
    assert profile["address"]["city"] == "Leeds"
    assert "find_customer" in refused(env, "get_customer", customer_id="C-9999")
    assert "must look like 'C-1001'" in refused(env, "get_customer", customer_id="1002")


def test_orders_are_listed_newest_first_and_filtered_by_status(env):
    listed = ok(env, "list_orders", customer_id="C-1001")["orders"]
    assert [o["order_id"] for o in listed] == ["O-5010", "O-5001"]
    assert listed[1]["total"] == 62.5
    assert [o["order_id"] for o in ok(env, "list_orders", customer_id="C-1001", status="delivered")["orders"]] == [
        "O-5001"]
    assert env.call("list_orders", {"customer_id": "C-1001", "status": "lost"}).error_kind == "invalid_arguments"


def test_an_order_shows_line_items_with_refunded_quantities_and_its_total(env):
    order = ok(env, "get_order", order_id="O-5007")
    assert order["items"][1] == {"sku": "TSHIRT-BLK-L", "name": "Basic T-shirt, black, L", "unit_price": 25.0,
                                 "quantity": 1, "refunded_quantity": 1}
    assert (order["status"], order["delivered_on"], order["total"]) == ("delivered", "2025-06-01", 120.0)
    assert "list_orders" in refused(env, "get_order", order_id="O-0001")


def test_the_policy_topics_are_an_enum_and_each_returns_its_numbered_rules_and_today(env):
    policy = ok(env, "get_policy", topic="refunds")
    assert policy["today"] == "2025-06-16" and policy["rules"] == POLICIES["refunds"]
    assert any("60 days for gold members" in r for r in policy["rules"])
    bad = env.call("get_policy", {"topic": "returns"})
    assert bad.error_kind == "invalid_arguments" and "refunds" in bad.content


# ---- refunds -------------------------------------------------------------------------------------------------------


def test_a_refund_within_the_window_is_recorded_and_counts_against_the_line(env):
    done = ok(env, "refund_order", **refund("O-5002", "SNEAKER-42"))
    assert done == {"refund_id": "R-0001", "order_id": "O-5002", "items": [{"sku": "SNEAKER-42", "quantity": 1}],
                    "reason": "damaged", "gross_amount": 95.0, "restocking_fee": 0.0, "amount": 95.0}
    assert ok(env, "get_order", order_id="O-5002")["items"][0]["refunded_quantity"] == 1
    assert "rule R3" in refused(env, "refund_order", **refund("O-5002", "SNEAKER-42"))


def test_a_refund_after_the_30_day_window_is_refused_citing_rule_r2(env):
    message = refused(env, "refund_order", **refund("O-5005", "HOODIE-GRY-L"))
    assert "rule R2" in message and "57 days ago" in message and "30-day window" in message


def test_gold_members_get_a_60_day_window_but_not_beyond(env):
    assert ok(env, "refund_order", **refund("O-5001", "MUG-CERAMIC"))["amount"] == 12.5  # 46 days, gold
    message = refused(env, "refund_order", **refund("O-5011", "HOODIE-GRY-M"))  # 75 days, gold
    assert "rule R2" in message and "gold members have a 60-day window" in message


def test_already_refunded_quantities_cannot_be_refunded_again(env):
    message = refused(env, "refund_order", **refund("O-5007", "TSHIRT-BLK-L"))
    assert "rule R3" in message and "1 already refunded, so at most 0" in message
    assert "at most 3" in refused(env, "refund_order", **refund("O-5009", "MUG-CERAMIC", quantity=4))
    assert ok(env, "refund_order", **refund("O-5009", "MUG-CERAMIC", quantity=3))["amount"] == 37.5


def test_undelivered_orders_cannot_be_refunded_and_the_message_points_at_cancelling(env):
    assert "rule R1" in refused(env, "refund_order", **refund("O-5004", "BACKPACK-20L"))
    assert "use cancel_order" in refused(env, "refund_order", **refund("O-5003", "HOODIE-GRY-M"))


def test_changed_mind_refunds_carry_a_restocking_fee_by_tier_and_none_for_gold(env):
    standard = ok(env, "refund_order", **refund("O-5002", "SNEAKER-42", reason="changed_mind"))
    silver = ok(env, "refund_order", **refund("O-5012", "SNEAKER-44", reason="changed_mind"))
    gold = ok(env, "refund_order", **refund("O-5001", "TSHIRT-BLK-M", quantity=2, reason="changed_mind"))
    assert (standard["restocking_fee"], standard["amount"]) == (9.5, 85.5)
    assert (silver["restocking_fee"], silver["amount"]) == (4.75, 90.25)
    assert (gold["restocking_fee"], gold["amount"]) == (0.0, 50.0)


def test_malformed_refund_requests_are_refused_before_any_state_changes(env):
    assert "not on order O-5002" in refused(env, "refund_order", **refund("O-5002", "MUG-CERAMIC"))
    twice = {"order_id": "O-5002", "reason": "damaged",
             "items": [{"sku": "SNEAKER-42", "quantity": 1}, {"sku": "SNEAKER-42", "quantity": 1}]}
    assert "listed twice" in refused(env, "refund_order", **twice)
    for bad in ({**refund("O-5002", "SNEAKER-42"), "reason": "too_expensive"},
                refund("O-5002", "SNEAKER-42", quantity=0),
                {"order_id": "O-5002", "items": "SNEAKER-42", "reason": "damaged"}):
        assert env.call("refund_order", bad).error_kind == "invalid_arguments"
    assert "non-empty list" in refused(env, "refund_order", order_id="O-5002", items=[], reason="damaged")


# ---- exchanges, cancellations, addresses ----------------------------------------------------------------------------


def test_an_exchange_swaps_one_unit_within_the_family_and_takes_stock(env):
    assert ok(env, "exchange_item", order_id="O-5001", sku="TSHIRT-BLK-M", new_sku="TSHIRT-WHT-M")["exchange_id"] == "X-0001"
    items = {i["sku"]: i["quantity"] for i in ok(env, "get_order", order_id="O-5001")["items"]}
    assert items == {"TSHIRT-BLK-M": 1, "MUG-CERAMIC": 1, "TSHIRT-WHT-M": 1}
    assert {r["id"]: r["stock"] for r in env.snapshot()["stock"]}["TSHIRT-WHT-M"] == 4


def test_exchanges_to_out_of_stock_or_other_family_skus_are_refused_citing_the_rule(env):
    assert "rule E3" in refused(env, "exchange_item", order_id="O-5002", sku="SNEAKER-42", new_sku="SNEAKER-43")
    message = refused(env, "exchange_item", order_id="O-5002", sku="SNEAKER-42", new_sku="MUG-CERAMIC")
    assert "rule E2" in message and "SNEAKER-43, SNEAKER-44" in message
    assert "rule E4" in refused(env, "exchange_item", order_id="O-5007", sku="TSHIRT-BLK-L", new_sku="TSHIRT-WHT-M")
    assert "E1/R2" in refused(env, "exchange_item", order_id="O-5005", sku="HOODIE-GRY-L", new_sku="HOODIE-GRY-M")
    assert "unknown SKU" in refused(env, "exchange_item", order_id="O-5002", sku="SNEAKER-42", new_sku="SNEAKER-99")


def test_only_unshipped_orders_can_be_cancelled(env):
    assert ok(env, "cancel_order", order_id="O-5003") == {"order_id": "O-5003", "status": "cancelled",
                                                          "refunded_amount": 60.0}
    assert "already cancelled" in refused(env, "cancel_order", order_id="O-5003")
    shipped = refused(env, "cancel_order", order_id="O-5004")
    assert "rule C2" in shipped and "has already shipped" in shipped
    assert "refund" in refused(env, "cancel_order", order_id="O-5005")


def test_an_address_change_is_validated_and_limited_to_unshipped_orders_in_shipping_countries(env):
    new = {"line1": "22 Baker Street", "city": "London", "postal_code": "NW1 6XE", "country": "GB"}
    assert ok(env, "update_shipping_address", order_id="O-5006", address=new)["shipping_address"] == {**new, "line2": None}
    assert "rule S1" in refused(env, "update_shipping_address", order_id="O-5004", address=new)
    message = refused(env, "update_shipping_address", order_id="O-5006", address={**new, "country": "JP"})
    assert "rule S3" in message and "we ship to BR, DE" in message
    lower = env.call("update_shipping_address", {"order_id": "O-5006", "address": {**new, "country": "gb"}})
    missing = env.call("update_shipping_address", {"order_id": "O-5006", "address": {"line1": "x"}})
    assert lower.error_kind == missing.error_kind == "invalid_arguments" and "city" in missing.content


def test_every_tool_publishes_an_output_schema_that_its_results_satisfy(env):
    specs = {s.name: s for s in env.specs()}
    address = {"line1": "Calle Mayor 5", "city": "Madrid", "postal_code": "28013", "country": "ES"}
    calls = {
        "find_customer": {"name": "a"}, "get_customer": {"customer_id": "C-1004"},
        "list_orders": {"customer_id": "C-1004"}, "get_order": {"order_id": "O-5004"},
        "get_policy": {"topic": "exchanges"}, "refund_order": refund("O-5009", "MUG-CERAMIC"),
        "exchange_item": {"order_id": "O-5012", "sku": "SNEAKER-44", "new_sku": "SNEAKER-42"},
        "update_shipping_address": {"order_id": "O-5010", "address": address},
        "cancel_order": {"order_id": "O-5010"},
    }
    assert set(calls) == set(specs)
    for name, arguments in calls.items():
        schema = specs[name].output_schema
        assert schema and schema.get("additionalProperties") is False, name
        assert validation_errors(schema, ok(env, name, **arguments)) == [], name


# ---- environment, grading, templates -------------------------------------------------------------------------------


def test_environments_are_isolated_and_reset_restores_the_seed():
    a, b = OrdersEnvironment(), OrdersEnvironment()
    seeded = b.snapshot()
    ok(a, "cancel_order", order_id="O-5003")
    assert b.snapshot() == seeded and a.snapshot() != seeded
    a.reset()
    assert a.snapshot() == seeded


def test_setup_can_move_the_shop_clock_to_open_or_close_a_refund_window(env):
    env.reset({"id": "t", "suite": "orders", "kind": "single", "turns": ["x"], "setup": {"today": "2025-05-10"}})
    assert ok(env, "refund_order", **refund("O-5005", "HOODIE-GRY-L"))["amount"] == 60.0


def test_the_seed_moves_the_clock_and_stock_so_windows_must_be_checked_not_remembered(env):
    env.reset(seed=15)  # 15 days later: the gold order delivered 61 days ago is now outside its window
    assert ok(env, "get_policy", topic="refunds")["today"] == "2025-07-01"
    assert "61 days ago" in refused(env, "refund_order", **refund("O-5001", "MUG-CERAMIC"))
    stock = {r["id"]: r["stock"] for r in env.snapshot()["stock"]}
    env.reset(seed=0)
    assert ok(env, "refund_order", **refund("O-5001", "MUG-CERAMIC"))["amount"] == 12.5
    seed0 = {r["id"]: r["stock"] for r in OrdersEnvironment().snapshot()["stock"]}
    assert stock != seed0 and all((stock[k] == 0) == (seed0[k] == 0) for k in seed0)
    again = OrdersEnvironment()
    again.reset(seed=15)
    assert {r["id"]: r["stock"] for r in again.snapshot()["stock"]} == stock  # deterministic per seed


def test_the_grader_passes_gold_and_fails_wrong_arguments_and_wrong_end_states(env):
    task = next(t for t in render_tasks("orders", env, n=40, seed=1, kinds=["chain"]) if t.template == "refund_damaged")
    gold = [c.to_call() for c in task.gold_calls]
    answer = f"Refunded {task.answer_facts[0]} EUR."
    assert env.grade(task, gold, answer).passed
    wrong_reason = gold[:1] + [{"name": "refund_order", "arguments": {**gold[1].arguments, "reason": "changed_mind"}}]
    verdict = env.grade(task, wrong_reason, answer)
    assert not verdict.checks["arguments"].passed and not verdict.checks["end_state"].passed
    skipped_refund = env.grade(task, gold[:1], answer)
    assert not skipped_refund.passed and not skipped_refund.checks["end_state"].passed
    assert not env.grade(task, gold, "Done.").checks["answer"].passed


def test_templates_cover_every_kind_and_render_to_tasks_whose_gold_calls_replay_to_the_gold_end_state(env):
    suite = get_suite("orders")
    templates = load_templates(suite.templates_path)
    assert {t.kind for t in templates} == {"single", "parallel", "chain", "missing_argument", "no_tool", "error"}
    specs = {s.name: s for s in env.specs()}
    tasks = render_tasks(suite, env, n=6 * max(Counter(t.kind for t in templates).values()), seed=11)
    assert {t.template for t in tasks} == {t.id for t in templates}
    for task in tasks:
        for call in task.gold_calls:
            assert validation_errors(specs[call.name].input_schema, call.arguments) == [], task.id
        env.reset(task)
        results = env.run_calls(task.gold_calls)
        assert [r.is_error for r in results] == [c.expect_error for c in task.gold_calls], task.id
        assert env.snapshot() == task.gold_end_state, task.id
    policy_refusals = [t for t in tasks if t.kind == "error"]
    assert policy_refusals
    for task in policy_refusals:  # a refused call leaves the state as the task's seed made it
        env.reset(task)
        assert task.gold_end_state == env.snapshot(), task.id
