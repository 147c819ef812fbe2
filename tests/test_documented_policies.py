"""Every policy the README and docs/ show or link, and `init`'s starter, generated end to end."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from generator.cli import cli
from tests.tenants import group, oid, tenant, user

ROOT = Path(__file__).resolve().parent.parent
# Where policies are shown: the README and any documentation pages beside it.
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md")))
# Tenants the docs show or link: their group names are the vocabulary the policies select.
TENANT_FILES = (ROOT / "examples" / "tenant.json", ROOT / "tests" / "golden" / "tenant.json")
NICKS = ("ann", "bob", "cy", "dee", "eve", "fay", "gus")
# An excerpt (a policy without `version`) is generated inside this policy, its keys replacing
# these; the teams rule selects the docs' `LLM-Team-` groups.
BASE_POLICY: dict[str, Any] = {
    "version": 1,
    "teams": [{"rule": "documented-teams", "select": {"prefix": "LLM-Team-"}}],
}
EDITIONS = ("teams-only", "licensed")
FORMATS = ("terraform", "yaml")
# The policy's own output.layout, and the per-organization layout `--layout` asks for.
LAYOUTS = ("as-set", "per-organization")
# A fenced block: indentation, the fence (``` or longer), the language, the body.
FENCE = re.compile(r"^( *)(`{3,})(\w*)[^\n]*\n(.*?)^\1\2(?!`)", re.S | re.M)
HEADING = re.compile(r"^#{1,6} +(.+)$", re.M)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def policy_keys() -> frozenset[str]:
    """The top-level keys of a policy, from the schema `entraform schema` prints."""
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    return frozenset(json.loads(result.stdout)["properties"])


POLICY_KEYS = policy_keys()


@dataclass(frozen=True)
class Block:
    """A fenced YAML block of a page: where it is, its text and what it parses to."""

    anchor: str
    text: str
    data: Any


@dataclass(frozen=True)
class Shown:
    """A policy as shown: a whole policy's text, an excerpt's text, or None for `init`'s."""

    name: str
    text: str | None
    excerpt: bool = False


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def fenced(language: str) -> Iterator[tuple[Path, str, str]]:
    """(page, section anchor, body) of every fenced block in that language of the docs."""
    for page in DOCS:
        text = page.read_text(encoding="utf-8")
        for fence in FENCE.finditer(text):
            if fence.group(3) == language:
                headings = HEADING.findall(text, 0, fence.start())
                body = re.sub(rf"^{fence.group(1)}", "", fence.group(4), flags=re.M)
                yield page, anchor(headings[-1]) if headings else "", body


def yaml_blocks() -> list[Block]:
    """Every ```yaml block of the docs, parsed, named after the page and section it is in."""
    blocks: list[Block] = []
    for page, section, body in [*fenced("yaml"), *fenced("yml")]:
        name = page.relative_to(ROOT).as_posix() + "#" + section
        taken = sum(1 for b in blocks if b.anchor == name or b.anchor.startswith(name + "~"))
        name += f"~{taken + 1}" if taken else ""
        blocks.append(Block(name, body, yaml.safe_load(body)))
    return blocks


def kind_of(data: Any) -> str:
    """'policy', 'excerpt' (only policy keys, no version), 'mixed' or 'other' (CI, pre-commit)."""
    if not isinstance(data, dict) or not data:
        return "other"
    keys = set(data)
    if data.get("version") == 1 and keys <= POLICY_KEYS:
        return "policy"
    if keys <= POLICY_KEYS:
        return "excerpt"
    return "mixed" if keys & POLICY_KEYS else "other"


def linked_policy_files() -> list[Path]:
    """Policy files the docs link, examples/entraform.yaml and the golden policies."""
    linked = [
        page.parent / target
        for page in DOCS
        for target in re.findall(r"\]\(([^)#\s]+\.ya?ml)\)", page.read_text(encoding="utf-8"))
    ]
    # The site cannot link files outside docs/: they are named as code, from the repository root.
    linked += [
        ROOT / named
        for page in DOCS
        for named in re.findall(r"`((?:examples|tests)/[^`\s]+\.ya?ml)`", page.read_text("utf-8"))
    ]
    found = [
        ROOT / "examples" / "entraform.yaml",
        *sorted((ROOT / "tests" / "golden").glob("**/entraform.yaml")),
        *linked,
    ]
    unique = sorted({p.resolve() for p in found if p.is_file()})
    return [p for p in unique if kind_of(yaml.safe_load(p.read_text(encoding="utf-8"))) == "policy"]


def shown_policies() -> list[Shown]:
    blocks = [
        Shown(b.anchor, b.text, kind_of(b.data) == "excerpt")
        for b in yaml_blocks()
        if kind_of(b.data) in ("policy", "excerpt")
    ]
    files = [
        Shown(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
        for p in linked_policy_files()
    ]
    return [*blocks, *files, Shown("entraform-init", None)]


SHOWN = shown_policies()


def load(shown: Shown, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """The whole policy and its text: an excerpt inside BASE_POLICY, init's starter as written."""
    if shown.text is None:
        starter = tmp_path / "starter.yaml"
        result = invoke("init", "-o", starter)
        assert result.exit_code == 0, result.output
        text = starter.read_text(encoding="utf-8")
    else:
        text = shown.text
    data = yaml.safe_load(text)
    if shown.excerpt:
        data = copy.deepcopy(BASE_POLICY) | data
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return data, text


def licensed(policy: dict[str, Any]) -> bool:
    return bool(policy.get("litellm", {}).get("enterprise", False))


def in_edition(policy: dict[str, Any], edition: str) -> dict[str, Any]:
    """The policy for a licensed proxy, or its teams-only variant for an open-source one."""
    variant = copy.deepcopy(policy)
    if edition == "licensed":
        variant["litellm"] = {**variant.get("litellm", {}), "enterprise": True}
        return variant
    variant["litellm"] = {**variant.get("litellm", {}), "enterprise": False}
    variant.pop("organizations", None)
    variant.pop("preset", None)
    teams = []
    for rule in variant.get("teams", []):
        kept = {k: v for k, v in rule.items() if k not in ("organization", "admins")}
        if kept.get("member_role") == "admin":
            del kept["member_role"]
        teams.append(kept)
    assert teams, "no teams rule is left for an open-source proxy: derive this variant by hand"
    variant["teams"] = teams
    # Without team admins, no admin count can hold (a configuration error there).
    checks = {k: v for k, v in variant.pop("checks", {}).items() if k != "min_admins"}
    return variant | ({"checks": checks} if checks else {})


# The tenant: documented group names, the ones each rule selects, with members and owners.


def documented_groups() -> tuple[list[str], dict[str, str]]:
    """Group names of the tenants the docs show or link, and their object ids."""
    names: list[str] = []
    by_id: dict[str, str] = {}
    docs = [path.read_text(encoding="utf-8") for path in TENANT_FILES]
    docs += [body for _, _, body in fenced("json")]
    for text in docs:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:  # an excerpt with "…" in it
            continue
        for g in doc.get("groups", []) if isinstance(doc, dict) else []:
            by_id.setdefault(g["id"], g["displayName"])
            if g["displayName"] not in names:
                names.append(g["displayName"])
    return names, by_id


def rules(policy: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, rule) for every rule; the preset's groups are organizations and teams."""
    for rule in policy.get("organizations", []):
        yield "organization", rule
    for rule in policy.get("teams", []):
        yield "team", rule
    if "preset" in policy and licensed(policy):
        yield "organization", policy["preset"]
        yield "team", policy["preset"]


def captures(select: dict[str, Any], name: str, gid: str) -> dict[str, str] | None:
    """The placeholders a selector gives a group, or None when it does not select it."""
    if "names" in select:
        return {} if name in select["names"] else None
    if "ids" in select:
        return {} if gid in select["ids"] else None
    if "prefix" in select:
        return {} if name.startswith(select["prefix"]) else None
    match = re.fullmatch(select["regex"], name)
    return None if match is None else {k: v or "" for k, v in match.groupdict().items()}


def words(name: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", name.lower()))


@dataclass
class Tenant:
    """Groups by object id: display names, nested groups, and the ones the policy selects."""

    names: dict[str, str]
    nested: dict[str, list[str]]
    selected: list[str]

    def add(self, name: str, gid: str) -> None:
        self.names.setdefault(gid, name)
        self.nested.setdefault(gid, [])


def tenant_for(policy: dict[str, Any]) -> dict[str, Any]:
    """A small snapshot whose groups every rule of the policy selects, each with members."""
    pool, known = documented_groups()
    wanted_ids = [i for _, r in rules(policy) for i in r["select"].get("ids", [])]
    by_id = {i: known.get(i, f"Group {i[:8]}") for i in wanted_ids}
    candidates = {n: oid("group/" + n) for n in pool if n not in by_id.values()}
    candidates |= {name: gid for gid, name in by_id.items()}
    built = Tenant({}, {}, [])
    organizations: list[str] = []
    for kind, rule in rules(policy):
        select = rule["select"]
        hits = [
            (n, g, c) for n, g in candidates.items() if (c := captures(select, n, g)) is not None
        ]
        if not hits and "names" in select:
            hits = [(n, oid("group/" + n), {}) for n in select["names"]]
        if not hits and "prefix" in select:
            hits = [(select["prefix"] + "Sample", oid("group/" + select["prefix"] + "Sample"), {})]
        assert hits, f"no documented group name fits {select}: add one to a documented tenant"
        for name, gid, found in hits:
            built.add(name, gid)
            if gid not in built.selected:
                built.selected.append(gid)
            if kind == "organization" and gid not in organizations:
                organizations.append(gid)
            admins = rule.get("admins", {})
            if "group" in admins:
                admin_group = admins["group"].format(displayName=name, id=gid, mail="", **found)
                built.add(admin_group, oid("group/" + admin_group))
    for _, rule in rules(policy):
        if rule.get("organization") != "nested":
            continue
        selected = built.selected
        for gid in [g for g in selected if captures(rule["select"], built.names[g], g) is not None]:
            team = words(built.names[gid])
            parent = max(organizations, key=lambda o: len(words(built.names[o]) & team))
            built.nested[parent].append(gid)
    return snapshot(policy, built)


def snapshot(policy: dict[str, Any], built: Tenant) -> dict[str, Any]:
    """Members and owners for every group; proxy admins the policy names; app assignments."""
    users = [user(n) for n in NICKS]
    admins = [user(key, userPrincipalName=key, mail=key) for key in policy_admins(policy)]
    groups = []
    for i, (gid, name) in enumerate(sorted(built.names.items(), key=lambda kv: kv[1])):
        members = [users[(i + k) % len(users)] for k in range(3)]
        if gid == built.selected[0]:
            members += admins
        refs = [{"@odata.type": "#microsoft.graph.user", "id": u["id"]} for u in members]
        refs += [{"@odata.type": "#microsoft.graph.group", "id": g} for g in built.nested[gid]]
        owner = users[(i + 3) % len(users)]["id"]
        groups.append(
            group(
                name,
                id=gid,
                members=refs,
                owners=[{"@odata.type": "#microsoft.graph.user", "id": owner}],
            )
        )
    extra: dict[str, Any] = {}
    if policy.get("source", {}).get("service_principal_id"):
        extra["appRoleAssignedTo"] = [
            {"principalType": "Group", "principalId": gid} for gid in built.selected
        ]
    return tenant(groups, users + admins, **extra)


def policy_admins(policy: dict[str, Any]) -> list[str]:
    users = policy.get("users", {})
    return [key for key in users.get("admins", {}) if "@" in key]


# Generating.


def prepare(shown: Shown, edition: str, folder: Path) -> tuple[dict[str, Any], Path, Path]:
    """The policy in an edition, its file (the text as shown when unchanged) and a snapshot."""
    folder.mkdir(parents=True, exist_ok=True)
    original, text = load(shown, folder)
    policy = in_edition(original, edition)
    path = folder / "entraform.yaml"
    same = policy == original
    path.write_text(text if same else yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    snap = folder / "tenant.json"
    snap.write_text(json.dumps(tenant_for(policy), indent=2), encoding="utf-8")
    return policy, path, snap


def refusal(policy: dict[str, Any], output_format: str, layout: str) -> tuple[int, str] | None:
    """The exit code and message of a combination the tool refuses by design, else None."""
    if layout != "per-organization":
        return None
    if output_format == "yaml":
        return 2, "output.layout per-organization needs format terraform"
    if policy.get("users", {}).get("manage"):
        return 2, "users.manage needs output.layout single"
    return None


def rendered(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def objects_in_files(files: dict[str, str], output_format: str) -> dict[str, int]:
    """How many teams, organizations and team membership lines the rendered files hold."""
    if output_format == "terraform":
        text = "".join(t for n, t in files.items() if n.endswith(".tf"))
        resources = text.split('\nresource "')[1:]
        memberships = [r for r in resources if r.startswith('litellm_team_member" ')]
        return {
            "team": sum(r.startswith('litellm_team" ') for r in resources),
            "organization": sum(r.startswith('litellm_organization" ') for r in resources),
            "team member": sum(r.count("user_email = ") for r in memberships),
        }
    loaded = {n: yaml.safe_load(t) for n, t in files.items() if n.endswith(".yaml")}
    team_members = loaded["team_members.yaml"]["team_members"] or {}
    return {
        "team": len(loaded["teams.yaml"]["teams"] or {}),
        "organization": len(loaded["organizations.yaml"]["organizations"] or {}),
        "team member": sum(len(members) for members in team_members.values()),
    }


def shown_id(shown: Shown) -> str:
    return ("excerpt-of-" if shown.excerpt else "") + shown.name


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("shown", SHOWN, ids=shown_id)
def test_a_shown_policy_generates_teams_with_members_and_a_second_check_changes_nothing(
    shown: Shown, edition: str, output_format: str, layout: str, tmp_path: Path
) -> None:
    policy, path, snap = prepare(shown, edition, tmp_path)
    out, report = tmp_path / "out", tmp_path / "report.json"
    run: tuple[str | Path, ...] = (
        "generate",
        "-c",
        path,
        "--snapshot",
        snap,
        "-o",
        out,
        "--format",
        output_format,
    )
    if layout != "as-set":
        run += ("--layout", layout)

    result = invoke(*run, "--report", report)

    chosen = policy.get("output", {}).get("layout", "single") if layout == "as-set" else layout
    refused = refusal(policy, output_format, chosen)
    if refused is not None:
        assert (result.exit_code, refused[1] in result.stderr) == (refused[0], True), result.output
        assert not out.exists()
        return
    assert result.exit_code == 0, result.output
    facts = json.loads(report.read_text(encoding="utf-8"))
    assert facts["refusals"] == []
    added = {o["kind"] for o in facts["objects"] if o["action"] == "added"}
    member_kinds = {m["kind"] for m in facts["members"] if m["action"] == "added"}
    files = rendered(out)
    counts = objects_in_files(files, output_format)
    assert "team" in added and "team" in member_kinds
    assert counts["team"] > 0 and counts["team member"] > 0
    organized = licensed(policy) and bool(policy.get("organizations") or policy.get("preset"))
    assert ("organization" in added, counts["organization"] > 0) == (organized, organized)
    if organized:
        assert "organization" in member_kinds
    if policy.get("users", {}).get("manage"):
        assert "user" in added
        for email, role in policy["users"].get("admins", {}).items():
            chunks = [
                c
                for n, t in files.items()
                for c in (t.split("\nresource ") if n.endswith(".tf") else t.splitlines())
            ]
            assert any(f'"{email}"' in c and f'"{role}"' in c for c in chunks), email

    check = invoke(*run, "--check")
    assert (check.exit_code, check.stderr) == (
        0,
        f"entraform: {len(files)} file(s) would be left unchanged\n",
    )


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_teams_only_policy_passes_the_guards_when_one_member_leaves_and_not_when_many_do(
    output_format: str, tmp_path: Path
) -> None:
    path = tmp_path / "entraform.yaml"
    assert invoke("init", "-o", path).exit_code == 0
    policy = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert not licensed(policy)
    limit = policy["safety"]["max_removed"]
    name = policy["teams"][0]["select"]["prefix"] + "Everyone"
    crowd = [f"member{i:02}" for i in range(limit + 5)]
    snap, out, report = tmp_path / "tenant.json", tmp_path / "out", tmp_path / "report.json"

    def run(members: list[str], *extra: str) -> Result:
        users = [user(n) for n in crowd]
        snap.write_text(json.dumps(tenant([group(name, tuple(members))], users)), encoding="utf-8")
        args = ("-c", path, "--snapshot", snap, "-o", out, "--format", output_format)
        return invoke("generate", *args, "--report", report, *extra)

    def removed() -> list[str]:
        facts = json.loads(report.read_text(encoding="utf-8"))
        return [m["user_email"] for m in facts["members"] if m["action"] == "removed"]

    first = run(crowd)
    assert first.exit_code == 0, first.output
    one_left = run(crowd[1:])
    assert one_left.exit_code == 0, one_left.output
    assert removed() == [f"{crowd[0]}@contoso.test"]
    before = rendered(out)

    many_left = run(crowd[limit + 2 :])

    assert many_left.exit_code == 4, many_left.output
    assert f"{limit + 1} member removals of {limit + 4}" in many_left.stderr
    assert "--allow-removals" in many_left.stderr
    assert rendered(out) == before
    assert run(crowd[limit + 2 :], "--allow-removals").exit_code == 0
    assert len(removed()) == limit + 1


def test_every_yaml_block_of_the_docs_is_a_policy_an_excerpt_or_plainly_something_else() -> None:
    kinds = {block.anchor: kind_of(block.data) for block in yaml_blocks()}
    assert [a for a, k in kinds.items() if k == "mixed"] == []  # policy keys beside others
    assert {"policy", "excerpt", "other"} <= set(kinds.values())
    shown = {s.name for s in SHOWN}
    assert {a for a, k in kinds.items() if k in ("policy", "excerpt")} < shown
    assert {
        "examples/entraform.yaml",
        "tests/golden/users/entraform.yaml",
        "entraform-init",
    } < shown


@pytest.mark.integration
def test_the_terraform_of_every_shown_policy_is_terraform_fmt_clean(
    terraform: str, tmp_path: Path
) -> None:
    for i, (shown, edition) in enumerate((s, e) for s in SHOWN for e in EDITIONS):
        _, path, snap = prepare(shown, edition, tmp_path / str(i))
        result = invoke("generate", "-c", path, "--snapshot", snap, "-o", tmp_path / str(i) / "out")
        assert result.exit_code == 0, (shown.name, edition, result.output)
    check = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
