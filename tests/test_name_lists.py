"""The shipped name lists (searchsvc/data): what each group searches together, and whom the
recogniser names, including the false matches a reader of US government releases meets.

Each case is a spelling or a sentence of the kind the White House releases (2021-2025) write.
"""

from __future__ import annotations

import pytest

from searchsvc.analysis import WORD_RE, exact_term
from searchsvc.entities import Recognizer
from searchsvc.searching.variants import BUILTIN, load, resolve


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer().prepare()


@pytest.fixture(scope="module")
def variants():
    return load(resolve([BUILTIN]))


def words(text: str) -> tuple[str, ...]:
    return tuple(exact_term(w) for w in WORD_RE.findall(text))


def searched_with(variants, typed: str) -> set[tuple[str, ...]]:
    """Every spelling the shipped lists search together with typed (as the exact field)."""
    _, spellings = variants.lookup("exact", words(typed))
    return {s.words for s in spellings}


# -- variant groups ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "also"),
    [
        ("Hizballah", "Hezbollah"),
        ("Hezbollah", "Hizbullah"),
        ("ISIL", "ISIS"),
        ("Daesh", "Islamic State"),
        ("Islamic State", "ISIL"),
        ("Qadhafi", "Gaddafi"),
        ("Gadhafi", "Qaddafi"),
        ("Zaporizhia", "Zaporizhzhia"),
        ("Zaporozhye", "Zaporizhzhya"),
        ("Kishinev", "Chisinau"),
        ("Khameini", "Khamenei"),
        ("Erevan", "Yerevan"),
        ("Huthis", "Houthis"),
        ("Ansar Allah", "Houthi"),
        ("Tigrai", "Tigray"),
        ("Karabagh", "Karabakh"),
        ("Nagorno-Karabagh", "Nagorno-Karabakh"),
        ("Myanmar", "Burma"),
        ("Turkey", "Türkiye"),
        ("Czech Republic", "Czechia"),
        ("Swaziland", "Eswatini"),
        ("Ivory Coast", "Côte d'Ivoire"),
        ("Cape Verde", "Cabo Verde"),
        ("Kiev", "Kyiv"),
        ("Zelensky", "Zelenskyy"),
        ("Nur-Sultan", "Astana"),
        ("Hadjiev", "Hajyýew"),
        ("Hajiyev", "Hajiev"),
        ("Gurbanow", "Gurbanov"),
        ("MBS", "Mohammed bin Salman"),
        ("AMLO", "López Obrador"),
        ("G-7", "G7"),
        ("Zelenskiy", "Volodymyr Zelenskyy"),
        ("Kamala D. Harris", "Kamala Harris"),
    ],
)
def test_spellings_of_one_name_are_searched_together(variants, typed, also):
    assert words(also) in searched_with(variants, typed)


@pytest.mark.parametrize(
    ("typed", "not_also"),
    [
        # Nazarbayev's first name is no name of the city.
        ("Nursultan", "Astana"),
        ("Nursultan", "Nur-Sultan"),
        # Vepa Hadjiev (Turkmenistan) is not Hikmat Hajiyev (Azerbaijan), nor is a
        # Gurbanov a Kurbanov.
        ("Hadjiev", "Hajiyev"),
        ("Hajiyev", "Hadjiev"),
        ("Hajiyev", "Vepa Hadjiev"),
        ("Gurbanov", "Kurbanov"),
        # Different people, one name each.
        ("Zelenskyy", "Volodymyr"),
        ("Kim Jong Un", "Kim"),
        ("Boris Johnson", "Johnson"),
        ("Kamala Harris", "Harris"),
        # A titled form tells the recogniser whom a release names; it is no spelling.
        ("Kamala Harris", "Vice President Harris"),
        ("Joe Biden", "President Biden"),
    ],
)
def test_other_names_are_not_searched(variants, typed, not_also):
    assert words(not_also) not in searched_with(variants, typed)


# -- people --------------------------------------------------------------------------------------

PEOPLE = [
    ("President Zelenskyy of Ukraine met", {"Volodymyr Zelenskyy"}),
    ("a call with President Zelensky", {"Volodymyr Zelenskyy"}),
    ("President Xi Jinping and President Biden", {"Xi Jinping", "Joe Biden"}),
    (
        "President Joseph R. Biden, Jr. and Prime Minister Narendra Modi",
        {"Joe Biden", "Narendra Modi"},
    ),
    ("Prime Minister Netanyahu spoke", {"Benjamin Netanyahu"}),
    ("President Erdogan of Türkiye", {"Recep Tayyip Erdoğan"}),
    ("Prime Minister Kishida and Prime Minister Sunak", {"Fumio Kishida", "Rishi Sunak"}),
    ("Crown Prince Mohammed bin Salman", {"Mohammed bin Salman"}),
    ("President Lula of Brazil", {"Luiz Inácio Lula da Silva"}),
    (
        "Secretary General Stoltenberg and Secretary General Rutte",
        {"Jens Stoltenberg", "Mark Rutte"},
    ),
    ("Secretary Blinken traveled", {"Antony Blinken"}),
    ("President Lukashenka of Belarus", {"Alexander Lukashenko"}),
    ("the fall of Assad", {"Bashar al-Assad"}),
    ("Prime Minister Boris Johnson", {"Boris Johnson"}),
    ("Prime Minister Johnson said", {"Boris Johnson"}),
    ("Vice President Harris will travel", {"Kamala Harris"}),
    ("Vice President JD Vance. Later, Vance said", {"JD Vance"}),
    # A surname of several people counts for the one the release names in full.
    ("President Biden and Dr. Biden", {"Joe Biden", "Jill Biden"}),
    ("First Lady Jill Biden visited. Biden said", {"Jill Biden"}),
    ("President Trump and First Lady Melania Trump", {"Donald Trump", "Melania Trump"}),
    ("President Macron and Mrs. Macron", {"Emmanuel Macron", "Brigitte Macron"}),
    ("the Biden-Harris Administration", set()),
    ("the Trump Administration", set()),
    # Surnames of many people are not a leader's name alone.
    ("Mr. Johnson", set()),
    ("Speaker Mike Johnson", set()),
    ("Harris County, Texas", set()),
    ("Kim Jong Un and Kim Yo Jong", {"Kim Jong Un"}),
    ("President Abbas", {"Mahmoud Abbas"}),
    ("Foreign Minister Abbas Araghchi", {"Abbas Araghchi"}),
    ("an attack on Al-Asad Air Base", set()),
    ("President Yoon", {"Yoon Suk Yeol"}),
    ("Yoon", set()),
    # Vepa Hadjiev (Turkmenistan) and Hikmat Hajiyev (Azerbaijan) are two men.
    ("Hikmat Hajiyev, Assistant to the President of Azerbaijan", {"Hikmat Hajiyev"}),
    ("Sullivan met today with Hikmat Hajiyev. Hajiyev said", {"Hikmat Hajiyev"}),
    ("the Azerbaijani official Hajiyev", set()),
    ("Deputy Minister Vepa Hadjiev. Hadjiev said", {"Vepa Hadjiev"}),
    ("a deputy minister named Gurbanov", set()),
    ("Ahmet Gurbanov, Deputy Minister", {"Ahmet Gurbanov"}),
    # The bare first name is no one (nor the city).
    ("Nursultan Nazarbayev", {"Nursultan Nazarbayev"}),
    ("Ayatollah Khamenei", {"Ali Khamenei"}),
    # A short name in mixed case is matched as written: "XI" is a Roman numeral.
    ("Xi said the talks were candid", {"Xi Jinping"}),
    ("Title XI of the Education Amendments of 1972", set()),
    ("SECTION XI. GENERAL PROVISIONS", set()),
]


@pytest.mark.parametrize(("text", "expected"), PEOPLE)
def test_people(recognizer, text, expected):
    assert set(recognizer.recognise(text, "").people) == expected


ORGANISATIONS = [
    ("the G7 Leaders' Summit", {"Group of Seven"}),
    ("the G-20 in New Delhi", {"Group of Twenty"}),
    ("ASEAN and the Quad", {"Association of Southeast Asian Nations", "Quad"}),
    (
        "the African Union and ECOWAS",
        {"African Union", "Economic Community of West African States"},
    ),
    ("the IAEA and the IMF", {"International Atomic Energy Agency", "International Monetary Fund"}),
    ("the World Health Organization", {"World Health Organization"}),
    ("Lebanese Hizballah", {"Hezbollah"}),
    ("ISIL and Daesh", {"ISIS"}),
    ("Houthi attacks in the Red Sea", {"Houthis"}),
    ("WHO: President Biden", set()),  # a media advisory's heading, no organisation
    (
        "OPEC+ and the WTO",
        {"Organization of the Petroleum Exporting Countries", "World Trade Organization"},
    ),
]


@pytest.mark.parametrize(("text", "expected"), ORGANISATIONS)
def test_organisations(recognizer, text, expected):
    assert set(recognizer.recognise(text, "").organisations) == expected
