"""Every reference the code makes to the project's documents resolves inside the repository: a
comment citing `docs/COMMANDS.md §5.5` (the bare file name only inside docs/) names a file of
docs/ and a section that file has, or a numbered step of one (§4.6: step 6 of §4)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SOURCES = ["redisai_module", "src", "tests", "opt", "setup.py", "README.md", "docs"]
SUFFIXES = {".pyx", ".pxd", ".pxi", ".in", ".py", ".c", ".cpp", ".h", ".sh", ".md"}
# A document name, then one or more sections: "§5.5", "§5.5, §7.2", "§7-8", "§9.3-§9.7"
# not after a "/" of another folder (../shared/design/GPU.md is the team's, outside the repository)
CITATION = re.compile(r"(?<![/\w])((?:docs/)?)\b([A-Z]+)\.md((?:,? ?§[0-9.]*[0-9](?:-§?[0-9.]*[0-9])?)*)")
SECTION = re.compile(r"§([0-9.]*[0-9])(?:-§?([0-9.]*[0-9]))?")
HEADING = re.compile(r"^#+ ([0-9]+(?:\.[0-9]+)*)\.? ")
ITEM = re.compile(r"^([0-9]+)\. ")  # a numbered step of a section: §4.6 is step 6 of §4


def source_files():
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            yield path
        else:
            yield from (p for p in sorted(path.rglob("*")) if p.suffix in SUFFIXES and "__pycache__" not in p.parts)


def sections(doc):
    found, current = set(), None
    for line in (DOCS / doc).read_text().splitlines():
        heading, item = HEADING.match(line), ITEM.match(line)
        if heading:
            current = heading.group(1)
            found.add(current)
        elif item and current:
            found.add(f"{current}.{item.group(1)}")
    return found


def test_every_cited_document_and_section_exists():
    known = {p.name: sections(p.name) for p in DOCS.glob("*.md")}
    missing = []
    for path in source_files():
        where = path.relative_to(ROOT)
        for prefix, doc, cited in CITATION.findall(path.read_text(errors="replace")):
            doc += ".md"
            if doc in ("README.md",):
                continue
            if not prefix and where.parts[0] != "docs":
                missing.append(f"{where}: {doc} without its folder (write docs/{doc})")
            if doc not in known:
                missing.append(f"{where}: {doc}")
                continue
            for first, last in SECTION.findall(cited):
                for number in filter(None, (first, last)):
                    if number not in known[doc]:
                        missing.append(f"{where}: {doc} §{number}")
    assert not missing, "citations with no target in docs/:\n" + "\n".join(sorted(set(missing)))


def test_the_index_lists_every_document():
    index = (DOCS / "README.md").read_text()
    for path in DOCS.glob("*.md"):
        if path.name != "README.md":
            assert f"({path.name})" in index, path.name
