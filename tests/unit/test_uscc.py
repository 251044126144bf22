import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.org import USCC_ALPHABET, is_valid_uscc, uscc_check_character

REAL = ["11620300013909010R", "12620600MB0523338C"]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_validate(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_character(code[:17]) == code[17]


@pytest.mark.parametrize(
    "code",
    [
        "11620300013909010Q",  # wrong check character
        "11620300013909011R",  # one digit changed
        "12620600MB0523383C",  # two characters swapped
        "1162030001390901R",  # 17 characters
        "11620300013909010RR",  # 19 characters
        "11620300013909O10R",  # O is not in the alphabet
        "11620300013909010r",  # lower case
        "",
    ],
)
def test_altered_codes_do_not_validate(code: str) -> None:
    assert not is_valid_uscc(code)


def test_a_character_outside_the_alphabet_is_refused_by_the_check_computation() -> None:
    with pytest.raises(ValueError):
        uscc_check_character("1162030001390901I")


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_the_computed_check_character_always_validates(first17: str) -> None:
    check = uscc_check_character(first17)
    assert is_valid_uscc(first17 + check)
    assert not any(is_valid_uscc(first17 + c) for c in USCC_ALPHABET if c != check)
