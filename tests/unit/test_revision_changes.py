"""What changed between two revisions: leaves by JSON Pointer, in document order."""

from __future__ import annotations

from survey_service.collection.revision_changes import Change, document_changes


def test_a_changed_answer_is_named_by_its_pointer() -> None:
    before = {"enterprise": {"name": "甲"}, "employees": [{"pay": 60000, "note": "a/b~"}]}
    after = {"enterprise": {"name": "乙"}, "employees": [{"pay": 61000, "note": "a/b~"}]}
    assert document_changes(before, after) == (
        [
            Change("/enterprise/name", "changed", "甲", "乙"),
            Change("/employees/0/pay", "changed", 60000, 61000),
        ],
        2,
    )


def test_a_line_added_or_removed_is_listed_answer_by_answer() -> None:
    one = {"employees": [{"pay": 1}]}
    two = {"employees": [{"pay": 1}, {"pay": 2, "months": 12}]}
    added = [Change("/employees/1/pay", "added", None, 2),
             Change("/employees/1/months", "added", None, 12)]  # fmt: skip
    assert document_changes(one, two) == (added, 2)
    removed = [Change("/employees/1/pay", "removed", 2, None),
               Change("/employees/1/months", "removed", 12, None)]  # fmt: skip
    assert document_changes(two, one) == (removed, 2)


def test_the_same_number_written_otherwise_is_no_change_but_true_is_not_one() -> None:
    assert document_changes({"pay": 60000}, {"pay": 60000.0}) == ([], 0)
    assert document_changes({"member": True}, {"member": 1}) == (
        [Change("/member", "changed", True, 1)],
        1,
    )


def test_keys_are_escaped_and_the_count_goes_past_the_limit() -> None:
    assert document_changes({"a/b": 1}, {"a/b": 2})[0][0].pointer == "/a~1b"
    shown, total = document_changes(list(range(10)), list(range(1, 11)), limit=3)
    assert [c.pointer for c in shown] == ["/0", "/1", "/2"]
    assert total == 10
