"""Enumerations and kk/ru/en labels for ISO 45001 risk management.

Values are stable identifiers stored in the database and JSON content; labels are display text.
Russian labels use the terms of GOST 12.0.003-2015 and the RK Labour Code where they exist;
Kazakh labels use the Kazakh terms of the Labour Code ("еңбекті қорғау", "ЖҚҚ").
"""

from __future__ import annotations

from enum import StrEnum

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")


class HazardType(StrEnum):
    MECHANICAL = "mechanical"
    ELECTRICAL = "electrical"
    FALLS_FROM_HEIGHT = "falls_from_height"
    CONFINED_SPACE = "confined_space"
    CHEMICAL = "chemical"
    DUST = "dust"
    NOISE = "noise"
    VIBRATION = "vibration"
    THERMAL = "thermal"
    BIOLOGICAL = "biological"
    ERGONOMIC = "ergonomic"
    PSYCHOSOCIAL = "psychosocial"
    FIRE_EXPLOSION = "fire_explosion"
    GAS = "gas"


class ControlLevel(StrEnum):
    """ISO 45001:2018 clause 8.1.2 hierarchy, most effective first (declaration order matters)."""

    ELIMINATION = "elimination"
    SUBSTITUTION = "substitution"
    ENGINEERING = "engineering"
    ADMINISTRATIVE = "administrative"
    PPE = "ppe"

    @property
    def rank(self) -> int:
        """1 = most effective (elimination) … 5 = least effective (PPE)."""
        return list(ControlLevel).index(self) + 1


class RiskBand(StrEnum):
    """Common 4-level band used to compare results across methods (ordered low → very high)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"

    @property
    def rank(self) -> int:
        return list(RiskBand).index(self)


class FineKinneyBand(StrEnum):
    """Kinney & Wiruth (1976) risk classes, ordered low → very high."""

    LOW = "low"  # "risk perhaps acceptable"
    POSSIBLE = "possible"  # "attention indicated"
    SUBSTANTIAL = "substantial"  # "correction needed"
    HIGH = "high"  # "immediate correction required"
    VERY_HIGH = "very_high"  # "consider discontinuing operation"


class Method(StrEnum):
    MATRIX_5X5 = "matrix_5x5"
    FINE_KINNEY = "fine_kinney"


class ReviewTrigger(StrEnum):
    ACCIDENT = "accident"
    CHANGE = "change"
    NEW_EQUIPMENT = "new_equipment"
    PERIODIC = "periodic"


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    VERIFIED = "verified"
    CANCELLED = "cancelled"


class Sector(StrEnum):
    """Sectors with shipped hazard templates (data/templates/<sector>.json)."""

    MINING = "mining"
    CONSTRUCTION = "construction"
    MANUFACTURING = "manufacturing"
    ENERGY = "energy"
    TRANSPORT = "transport"


def _l(kk: str, ru: str, en: str) -> dict[str, str]:
    return {"kk": kk, "ru": ru, "en": en}


# Keyed by (enum class, value): members of different enums share values ("low", "high").
_ENTRIES: list[tuple[StrEnum, dict[str, str]]] = [
    # Hazard taxonomy
    (
        HazardType.MECHANICAL,
        _l(
            "Механикалық қауіптер (қозғалатын бөлшектер, қысылу, соғылу)",
            "Механические опасности (движущиеся части, захват, удар)",
            "Mechanical hazards (moving parts, entanglement, impact)",
        ),
    ),
    (
        HazardType.ELECTRICAL,
        _l("Электр тогымен зақымдану", "Поражение электрическим током", "Electrical hazards"),
    ),
    (HazardType.FALLS_FROM_HEIGHT, _l("Биіктіктен құлау", "Падение с высоты", "Falls from height")),
    (
        HazardType.CONFINED_SPACE,
        _l(
            "Шектеулі және тұйық кеңістіктер",
            "Ограниченные и замкнутые пространства",
            "Confined spaces",
        ),
    ),
    (HazardType.CHEMICAL, _l("Химиялық факторлар", "Химические факторы", "Chemical agents")),
    (
        HazardType.DUST,
        _l(
            "Өндірістік шаң (фиброгенді аэрозольдер)",
            "Производственная пыль (аэрозоли преимущественно фиброгенного действия)",
            "Dust (fibrogenic aerosols)",
        ),
    ),
    (HazardType.NOISE, _l("Өндірістік шу", "Производственный шум", "Noise")),
    (
        HazardType.VIBRATION,
        _l(
            "Діріл (жалпы және жергілікті)",
            "Вибрация (общая и локальная)",
            "Vibration (whole-body and hand-arm)",
        ),
    ),
    (
        HazardType.THERMAL,
        _l(
            "Микроклимат және термиялық факторлар (қызып кету, суыну, күйік)",
            "Микроклимат и термические факторы (перегрев, охлаждение, ожоги)",
            "Thermal environment (heat, cold, burns)",
        ),
    ),
    (
        HazardType.BIOLOGICAL,
        _l("Биологиялық факторлар", "Биологические факторы", "Biological agents"),
    ),
    (
        HazardType.ERGONOMIC,
        _l(
            "Еңбек процесінің ауырлығы (эргономикалық факторлар)",
            "Тяжесть трудового процесса (эргономические факторы)",
            "Ergonomic hazards (manual handling, posture)",
        ),
    ),
    (
        HazardType.PSYCHOSOCIAL,
        _l(
            "Психоәлеуметтік факторлар (еңбек процесінің қауырттылығы)",
            "Психосоциальные факторы (напряжённость трудового процесса)",
            "Psychosocial hazards (work intensity, stress, violence)",
        ),
    ),
    (
        HazardType.FIRE_EXPLOSION,
        _l("Өрт және жарылыс қауіптілігі", "Пожаро- и взрывоопасность", "Fire and explosion"),
    ),
    (
        HazardType.GAS,
        _l(
            "Қауіпті газдар (улы, тұншықтырғыш, жанғыш)",
            "Опасные газы (токсичные, удушающие, горючие)",
            "Hazardous gases (toxic, asphyxiant, flammable)",
        ),
    ),
    # Hierarchy of controls
    (
        ControlLevel.ELIMINATION,
        _l("Қауіпті жою", "Исключение (устранение) опасности", "Elimination"),
    ),
    (
        ControlLevel.SUBSTITUTION,
        _l("Қауіптілігі азырақпен алмастыру", "Замена на менее опасное", "Substitution"),
    ),
    (
        ControlLevel.ENGINEERING,
        _l("Инженерлік-техникалық шаралар", "Инженерно-технические меры", "Engineering controls"),
    ),
    (
        ControlLevel.ADMINISTRATIVE,
        _l(
            "Ұйымдастырушылық (әкімшілік) шаралар",
            "Организационные (административные) меры",
            "Administrative controls",
        ),
    ),
    (
        ControlLevel.PPE,
        _l(
            "Жеке қорғаныш құралдары (ЖҚҚ)",
            "Средства индивидуальной защиты (СИЗ)",
            "Personal protective equipment (PPE)",
        ),
    ),
    # Common risk bands
    (RiskBand.LOW, _l("Төмен", "Низкий", "Low")),
    (RiskBand.MEDIUM, _l("Орташа", "Средний", "Medium")),
    (RiskBand.HIGH, _l("Жоғары", "Высокий", "High")),
    (RiskBand.VERY_HIGH, _l("Өте жоғары", "Очень высокий", "Very high")),
    # Fine–Kinney classes
    (
        FineKinneyBand.LOW,
        _l(
            "Төмен (қолайлы болуы мүмкін)",
            "Низкий (вероятно, допустимый)",
            "Low (perhaps acceptable)",
        ),
    ),
    (
        FineKinneyBand.POSSIBLE,
        _l(
            "Ықтимал (назар аудару қажет)",
            "Возможный (требует внимания)",
            "Possible (attention indicated)",
        ),
    ),
    (
        FineKinneyBand.SUBSTANTIAL,
        _l(
            "Елеулі (түзету қажет)",
            "Существенный (требуется коррекция)",
            "Substantial (correction needed)",
        ),
    ),
    (
        FineKinneyBand.HIGH,
        _l(
            "Жоғары (дереу түзету қажет)",
            "Высокий (требуется немедленная коррекция)",
            "High (immediate correction required)",
        ),
    ),
    (
        FineKinneyBand.VERY_HIGH,
        _l(
            "Өте жоғары (жұмысты тоқтатуды қарастыру)",
            "Очень высокий (рассмотреть прекращение работ)",
            "Very high (consider discontinuing the operation)",
        ),
    ),
    # Methods
    (Method.MATRIX_5X5, _l("5×5 тәуекел матрицасы", "Матрица рисков 5×5", "5×5 risk matrix")),
    (Method.FINE_KINNEY, _l("Файн–Кинни әдісі", "Метод Файна–Кинни", "Fine–Kinney method")),
    # Review triggers (ISO 45001 6.1.2.2, 8.1.3)
    (
        ReviewTrigger.ACCIDENT,
        _l(
            "Жазатайым оқиға немесе инцидент",
            "Несчастный случай или инцидент",
            "Accident or incident",
        ),
    ),
    (
        ReviewTrigger.CHANGE,
        _l(
            "Өзгерістер (процесс, ұйым, заңнама)",
            "Изменения (процесс, организация, законодательство)",
            "Change (process, organisation, legislation)",
        ),
    ),
    (
        ReviewTrigger.NEW_EQUIPMENT,
        _l("Жаңа жабдықты енгізу", "Ввод нового оборудования", "New equipment"),
    ),
    (ReviewTrigger.PERIODIC, _l("Мерзімдік қайта қарау", "Плановый пересмотр", "Periodic review")),
    # Action status
    (ActionStatus.OPEN, _l("Ашық", "Открыто", "Open")),
    (ActionStatus.IN_PROGRESS, _l("Орындалуда", "В работе", "In progress")),
    (ActionStatus.DONE, _l("Орындалды", "Выполнено", "Done")),
    (
        ActionStatus.VERIFIED,
        _l("Тиімділігі тексерілді", "Эффективность проверена", "Verified (effective)"),
    ),
    (ActionStatus.CANCELLED, _l("Күші жойылды", "Отменено", "Cancelled")),
    # Sectors
    (Sector.MINING, _l("Тау-кен өнеркәсібі", "Горнодобывающая промышленность", "Mining")),
    (Sector.CONSTRUCTION, _l("Құрылыс", "Строительство", "Construction")),
    (
        Sector.MANUFACTURING,
        _l("Өңдеу өнеркәсібі", "Обрабатывающая промышленность", "Manufacturing"),
    ),
    (Sector.ENERGY, _l("Энергетика", "Энергетика", "Energy")),
    (
        Sector.TRANSPORT,
        _l("Көлік және қоймалау", "Транспорт и складирование", "Transport and storage"),
    ),
]

LABELS: dict[tuple[type[StrEnum], str], dict[str, str]] = {
    (type(m), m.value): text for m, text in _ENTRIES
}


def label(member: StrEnum, lang: str = "ru") -> str:
    """Display label of an enum member; unknown languages fall back to Russian."""
    labels = LABELS[(type(member), member.value)]
    return labels.get(lang, labels["ru"])
