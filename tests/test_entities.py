"""Recognising countries, people and organisations (searchsvc.entities), and the indexer
re-deriving them when the lists change."""

from __future__ import annotations

import shutil
import time

import pytest
import yaml

from searchsvc.entities import ORGANISATIONS_FILE, PEOPLE_FILE, ListError, Recognizer, country_label
from searchsvc.entities import read_names as read_list
from searchsvc.indexing import current_generation, index_paths, open_index_at
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer().prepare()


COUNTRIES = [
    # names, short forms, adjectives, capitals and cities
    (
        "Meeting of the Ministers of Foreign Affairs of Turkmenistan and Russia",
        {"Russia", "Turkmenistan"},
    ),
    ("the Minister of Foreign Affairs of the Russian Federation", {"Russia"}),
    ("the Turkmen-Russian strategic partnership", {"Russia", "Turkmenistan"}),
    ("this year's Azerbaijani Culture Days", {"Azerbaijan"}),
    ("a visit to Moscow", {"Russia"}),
    ("the summit held in Ashgabat", {"Turkmenistan"}),
    ("the ministry spells it Ashkhabad", {"Turkmenistan"}),
    ("Aşgabat, Türkmen halky", {"Turkmenistan"}),
    ("ASGABAT", {"Turkmenistan"}),
    (" date 2020-12-17 BAKU, Azerbaijan, December 17", {"Azerbaijan"}),
    ("BAKU, December 17", {"Azerbaijan"}),
    ("Turkmenistan and the US continued", {"Turkmenistan", "United States"}),
    ("the U.S. and the U.K. agreed", {"United States", "United Kingdom"}),
    ("U.S.-Russia talks", {"United States", "Russia"}),
    ("the US-Turkmenistan Business Council", {"United States", "Turkmenistan"}),
    (
        "Turkmenistan–Afghanistan–Pakistan–India Pipeline (TAPI)",
        {"Turkmenistan", "Afghanistan", "Pakistan", "India"},
    ),
    ("Türkiye, Turkey and Côte d’Ivoire", {"Turkey", "Côte d'Ivoire"}),
    ("trade with İstanbul", {"Turkey"}),
    ("Papua New Guinea and Guinea-Bissau", {"Papua New Guinea", "Guinea-Bissau"}),
    ("the Republic of Korea", {"South Korea"}),
    # case and context
    ("Let us meet; join us", set()),
    ("PLEASE JOIN US TODAY", set()),
    ("kaolin, or China clay, is mined", set()),
    ("fine china and roast turkey", set()),
    ("the President pardoned the National Thanksgiving Turkey", set()),
    ("Governor Kemp of Atlanta, Georgia", set()),
    ("Georgia and Azerbaijan signed, in Tbilisi", {"Georgia", "Azerbaijan"}),
    ("Michael Jordan met the team", set()),
    ("King Abdullah II of Jordan, in Amman", {"Jordan"}),
    ("the American Indian tribes of New Mexico and New Jersey", set()),
    ("the Indian Ocean", set()),
    ("Frederick Douglass and Stephen Douglas at Georgetown", set()),
    ("English learners in Jersey", set()),
    ("Congo", set()),  # the Republic of the Congo or the DRC: only their full names count
    ("the Democratic Republic of the Congo", {"DR Congo"}),
    ("Russians and Afghans", {"Russia", "Afghanistan"}),
    ("Belarussian", set()),  # not Russia: whole words only
    ("woman", set()),  # not Oman
    # the Native American sense of "Indian"
    ("a ceremony in the Indian Treaty Room", set()),
    ("the Bureau of Indian Education and the Indian Child Welfare Act", set()),
    ("the Gila River Indian Community and Urban Indian Organizations", set()),
    ("Indian\xa0Country and Indian\nHealth Service clinics", set()),
    ("the Cleveland Indians", set()),
    ("the Indian Prime Minister and Indian Americans", {"India", "United States"}),
    # languages, not countries
    ("MR. ACEVEDO: (Speaks Spanish.)", set()),
    ("resources in Spanish for parents, in English and Spanish", set()),
    ("Spanish-language media and Spanish speakers", set()),
    ("He speaks Spanish and French. She is fluent in German.", set()),
    ("the Spanish President and the French President", {"Spain", "France"}),
    ("Chinese government investment in Chinese companies", {"China"}),
    # the Paris Agreement is not France, the National Turkey not Turkey
    ("we rejoined the Paris Agreement and the Paris Climate\nAgreement", set()),
    ("the National Turkey is pardoned", set()),
    ("a meeting in Paris", {"France"}),
    # capitals and cities that are also American places or first names
    ("Alexandria Ocasio-Cortez spoke in Alexandria, Virginia", set()),
    ("San Jose, California, and Nassau County", set()),
    ("St. John's Church; Sydney and Dublin, California", set()),
    ("the Havana Syndrome", set()),
    ("Cairo and Alexandria, Egypt", {"Egypt"}),
    # shouting is a word in capitals beside the name
    ("Please JOIN US for the event.", set()),
    ("the US and the UK", {"United States", "United Kingdom"}),
    ("US-EU trade", {"United States"}),
    # Northern Ireland is the United Kingdom; Kosovo and Serbia have labels
    ("Belfast, Northern Ireland", {"United Kingdom"}),
    ("Pristina and Belgrade", {"Kosovo", "Serbia"}),
    ("the Republic of Kosovo", {"Kosovo"}),
    # names to confirm, confirmed by their company
    ("Readout of President Donald J. Trump's Call with King Abdullah II of Jordan", {"Jordan"}),
    ("the Government of Jordan and Jordan's King", {"Jordan"}),
    ("stops in Egypt, Iraq, and Jordan", {"Egypt", "Iraq", "Jordan"}),
    ("the President of Georgia and the Georgian Dream party", {"Georgia"}),
    ("the Republic of Niger and the Republic of Chad", {"Niger", "Chad"}),
    ("Botswana, Guinea, Nigeria", {"Botswana", "Guinea", "Nigeria"}),
    ("Atlanta, Georgia, and the state of Georgia", set()),
    ("Jim Jordan and Chad Metzler in the Lake Chad Basin", set()),
    ("along the Niger River", set()),
    ("Papua New\nGuinea and Fiji", {"Papua New Guinea", "Fiji"}),
]


@pytest.mark.parametrize("text, expected", COUNTRIES)
def test_countries(recognizer, text, expected):
    assert set(recognizer.recognise("", text).countries) == expected


PEOPLE = [
    (
        "President Serdar Berdimuhamedov and President Vladimir Putin",
        {"Serdar Berdimuhamedov", "Vladimir Putin"},
    ),
    ("Minister R.Meredov met S.Lavrov", {"Rashid Meredov", "Sergey Lavrov"}),
    ("Gurbanguly Berdymukhamedov spoke. Later, Berdimuhamedov said", {"Gurbanguly Berdimuhamedov"}),
    ("President Berdimuhamedov said", set()),  # two Berdimuhamedovs: neither named in full
    ("Ilham Aliyev opened the Heydar Aliyev Center", {"Ilham Aliyev", "Heydar Aliyev"}),
    ("PUTIN SPOKE", {"Vladimir Putin"}),
    ("said von der Leyen", {"Ursula von der Leyen"}),
    ("a putin recipe", set()),
]


@pytest.mark.parametrize("text, expected", PEOPLE)
def test_people(recognizer, text, expected):
    assert set(recognizer.recognise(text, "").people) == expected


ORGANISATIONS = [
    (
        "at the UN, the CIS, the SCO, the EU and the OSCE",
        {
            "United Nations",
            "Commonwealth of Independent States",
            "Shanghai Cooperation Organisation",
            "European Union",
            "Organization for Security and Co-operation in Europe",
        },
    ),
    ("the United Nations General Assembly", {"United Nations"}),
    ("un peu de tout", set()),
    ("a hiking club near the eu", set()),
]


@pytest.mark.parametrize("text, expected", ORGANISATIONS)
def test_organisations(recognizer, text, expected):
    assert set(recognizer.recognise(text, "").organisations) == expected


@pytest.mark.parametrize(
    "value, label",
    [
        ("TM", "Turkmenistan"),
        ("tm", "Turkmenistan"),
        ("TKM", "Turkmenistan"),
        ("Turkmenistan", "Turkmenistan"),
        ("russian federation", "Russia"),
        ("RU", "Russia"),
        ("United States", "United States"),
        ("US", "United States"),
        ("Atlantis", "Atlantis"),
        ("XK", "Kosovo"),
        ("Kosovo", "Kosovo"),
        ("RS", "Serbia"),
    ],
)
def test_a_country_filter_takes_a_name_or_an_iso_code(value, label):
    assert country_label(value) == label


def test_recognition_is_one_fast_pass(recognizer):
    text = (SEEDS / "003_ec0c8cdd937fe39f.txt").read_text(encoding="utf-8") * 4  # ~13,000 chars
    started = time.perf_counter()
    for _ in range(50):
        recognizer.recognise("", text)
    per_doc = (time.perf_counter() - started) / 50
    assert per_doc < 0.02, f"{per_doc * 1000:.1f} ms a release"


def test_the_shipped_lists_keep_the_format_the_variants_reader_expects():
    for path in (PEOPLE_FILE, ORGANISATIONS_FILE):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict) and data
        assert all(isinstance(k, str) and isinstance(v, list) for k, v in data.items())
        assert read_list(path)["Serdar Berdimuhamedov" if path == PEOPLE_FILE else "United Nations"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("- a\n- b\n", "must be a mapping"),
        ("Putin: Vladimir\n", "must be a list"),
        ("a: [b\n", "not readable YAML"),
    ],
)
def test_a_bad_list_is_one_clear_error(tmp_path, text, problem):
    path = tmp_path / "people.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ListError, match=problem):
        Recognizer(people_file=path).prepare()


# -- the indexer ----------------------------------------------------------------------------


def _stored(index_dir) -> dict[str, dict]:
    ix = open_index_at(current_generation(index_dir))
    try:
        with ix.reader() as reader:
            return {s["id"]: s for _, s in reader.iter_docs()}
    finally:
        ix.close()


def test_a_changed_list_takes_effect_on_the_next_run_without_reading_a_file(tmp_path, monkeypatch):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    people = tmp_path / "people.yaml"
    shutil.copy(PEOPLE_FILE, people)
    index_dir = tmp_path / "ix"
    report = index_paths(index_dir, [tmp_path / "seeds"], procs=1, recognizer=Recognizer(people))
    assert report.added == 5
    before = _stored(index_dir)
    assert before["002_77df0451d7f08fe1"]["person"] == ["Serdar Berdimuhamedov", "Vladimir Putin"]

    lists = yaml.safe_load(people.read_text(encoding="utf-8"))
    lists["V. V. Putin"] = lists.pop("Vladimir Putin") + ["Vladimir Putin"]
    lists["Ahmet Gurbanov"] = []  # no longer "Gurbanov" alone: still named in full
    lists["Nobody Known"] = ["Lavrov"]  # Lavrov is shared now, and named in full
    people.write_text(yaml.safe_dump(lists, allow_unicode=True), encoding="utf-8")

    import searchsvc.indexing.bookkeeping as bookkeeping

    def no_reading(src):
        raise AssertionError(f"read {src.path}")

    monkeypatch.setattr(bookkeeping, "read_source", no_reading)
    report = index_paths(index_dir, [tmp_path / "seeds"], procs=1, recognizer=Recognizer(people))
    assert (report.added, report.updated, report.unchanged, report.rederived) == (0, 0, 5, 1)
    assert "entities re-derived 1" in report.summary()
    after = _stored(index_dir)
    assert after["002_77df0451d7f08fe1"]["person"] == ["Serdar Berdimuhamedov", "V. V. Putin"]
    # everything else as it was: the text, the other fields, the other documents
    for doc_id, stored in before.items():
        changed = {k for k in stored if stored[k] != after[doc_id][k]}
        assert changed == ({"person"} if doc_id == "002_77df0451d7f08fe1" else set())

    report = index_paths(index_dir, [tmp_path / "seeds"], procs=1, recognizer=Recognizer(people))
    assert report.rederived == 0 and "re-derived" not in report.summary()


def test_a_list_that_cannot_be_read_changes_nothing(tmp_path):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    index_dir = tmp_path / "ix"
    index_paths(index_dir, [tmp_path / "seeds"], procs=1)
    gen = current_generation(index_dir)
    bad = tmp_path / "people.yaml"
    bad.write_text("- not a mapping\n", encoding="utf-8")
    with pytest.raises(ListError, match="must be a mapping"):
        index_paths(index_dir, [tmp_path / "seeds"], procs=1, recognizer=Recognizer(bad))
    assert current_generation(index_dir) == gen
    assert _stored(index_dir)["002_77df0451d7f08fe1"]["person"]


def test_an_index_without_the_entity_fields_gets_them_without_a_rebuild(tmp_path, monkeypatch):
    import searchsvc.indexing.bookkeeping as bookkeeping
    import searchsvc.indexing.writing as writing
    import searchsvc.schema as schema

    shutil.copytree(SEEDS, tmp_path / "seeds")
    index_dir = tmp_path / "ix"
    older = tuple(f for f in schema.FACETS if f.name not in ("country", "person", "organisation"))
    with monkeypatch.context() as m:  # an index written before the entity facets existed
        m.setattr(schema, "FACETS", older)
        m.setattr(writing, "FACETS", older)
        index_paths(index_dir, [tmp_path / "seeds"], procs=1)
    assert "country" not in _stored(index_dir)["003_ec0c8cdd937fe39f"]

    monkeypatch.setattr(bookkeeping, "read_source", lambda src: pytest.fail(f"read {src.path}"))
    report = index_paths(index_dir, [tmp_path / "seeds"], procs=1)
    assert (report.unchanged, report.rederived) == (5, 5)
    stored = _stored(index_dir)["003_ec0c8cdd937fe39f"]
    assert stored["country"] == [
        "Afghanistan",
        "Azerbaijan",
        "India",
        "Pakistan",
        "Turkmenistan",
        "United States",
    ]


def test_the_cli_says_in_one_line_what_is_wrong_with_a_list(tmp_path, runner, monkeypatch):
    from searchsvc.cli import main

    bad = tmp_path / "people.yaml"
    bad.write_text("- a list, not a mapping\n", encoding="utf-8")
    monkeypatch.setenv("SEARCHSVC_PEOPLE_FILE", str(bad))
    result = runner.invoke(main, ["index", str(SEEDS), "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {bad}: must be a mapping of canonical name to a list of variants. "
        "Fix the list, or unset the setting."
    )
    monkeypatch.setenv("SEARCHSVC_PEOPLE_FILE", str(tmp_path / "missing.yaml"))
    result = runner.invoke(main, ["index", str(SEEDS), "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code != 0 and "SEARCHSVC_PEOPLE_FILE must be a readable YAML file" in (
        result.output + result.stderr
    )
