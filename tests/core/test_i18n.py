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


def test_the_page_frame_translates_in_the_core_domain() -> None:
    """base.html renders with its child page's context and name (`extends`), so its `_`
    took the page's domain: the header's role and menu words changed from page to page (kk
    "Worker" was "Қызметкер" on alarm pages, "Жұмыскер" elsewhere). It uses `core_`."""
    from qorgau.core.config import PACKAGE_DIR
    from qorgau.core.i18n import domain_gettext
    from qorgau.core.web import ENV

    frame = (PACKAGE_DIR / "templates" / "base.html").read_text()
    assert "core_(" in frame and "_(" not in frame.replace("core_(", "")
    set_language("kk")
    assert ENV.globals["core_"]("Worker") == "Жұмыскер" != domain_gettext("alarms")("Worker")
    set_language("ru")
    assert ENV.globals["core_"]("Sites") == "Объекты" != domain_gettext("integration")("Sites")
