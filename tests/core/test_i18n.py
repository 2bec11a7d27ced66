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


def test_a_domain_gets_its_own_translation_of_a_shared_msgid() -> None:
    """The domains' catalogues are one namespace: a msgid two domains translate differently
    took the alphabetically last one's words on every page ("From" of an alarm's transition
    showed as a period's "С" on the alarm page). A template's `_` and a domain's
    `domain_gettext` now take their own domain's translation first."""
    from qorgau.core.i18n import domain_gettext, template_domain, translations
    from qorgau.core.web import ENV

    set_language("ru")
    alarms, indicators = domain_gettext("alarms"), domain_gettext("indicators")
    assert (alarms("From"), indicators("From")) == ("Из", "С")
    assert translations("ru").gettext("From") == "С"  # no domain: the last one's, as before
    set_language("kk")
    assert alarms("acknowledged") == "расталды" and domain_gettext("geo")("acknowledged") \
        == "қабылданған"
    assert (template_domain("alarms/_live.html"), template_domain("base.html")) == (
        "alarms", "core")
    set_language("ru")
    template = ENV.from_string("{{ _('From') }}/{{ _('Name') }}")
    template.name = "alarms/probe.html"
    assert template.render() == "Из/Имя"
    template.name = "registry/probe.html"
    assert template.render() == "С/Наименование"
