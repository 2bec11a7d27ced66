from qorgau.core.i18n import gettext, set_language
from qorgau.core.i18n_tools import problems


def test_every_ui_string_has_kk_and_ru_translations() -> None:
    missing = problems()
    assert missing == [], "\n".join(missing[:50])


def test_language_switch_changes_translation() -> None:
    set_language("kk")
    assert gettext("Sign in") == "Кіру"
    set_language("ru")
    assert gettext("Sign in") == "Войти"
    set_language("en")
    assert gettext("Sign in") == "Sign in"
