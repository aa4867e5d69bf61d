"""The webhook payloads the forge sends when its state changes, shaped as GitHub's."""

from __future__ import annotations

import datetime
from typing import Any

from crossdock.gitslice.forge.fake.hooks import Deliverer
from crossdock.gitslice.forge.fake.render import Renderer
from crossdock.gitslice.forge.fake.state import (
    Comment,
    Issue,
    Repo,
    Review,
    User,
    git,
    run_git,
)

ZERO = "0" * 40


class Events:
    """Builds each event's payload and hands it to the deliverer."""

    def __init__(self, render: Renderer, deliverer: Deliverer) -> None:
        self.render = render
        self.deliverer = deliverer

    def _base(self, repo: Repo, sender: User) -> dict[str, Any]:
        return {"repository": self.render.repo(repo), "sender": self.render.user(sender)}

    def pull_request(self, action: str, repo: Repo, issue: Issue, sender: User,
                     **extra: Any) -> None:
        payload = {"action": action, "number": issue.number,
                   "pull_request": self.render.pull(repo, issue), **extra,
                   **self._base(repo, sender)}
        self.deliverer.send(repo, "pull_request", payload)

    def issues(self, action: str, repo: Repo, issue: Issue, sender: User,
               **extra: Any) -> None:
        payload = {"action": action, "issue": self.render.issue(repo, issue), **extra,
                   **self._base(repo, sender)}
        self.deliverer.send(repo, "issues", payload)

    def issue_comment(self, repo: Repo, issue: Issue, comment: Comment) -> None:
        payload = {"action": "created", "issue": self.render.issue(repo, issue),
                   "comment": self.render.comment(repo, issue, comment),
                   **self._base(repo, comment.user)}
        self.deliverer.send(repo, "issue_comment", payload)

    def pull_request_review(self, repo: Repo, issue: Issue, review: Review) -> None:
        payload = {"action": "submitted", "review": self.render.review(repo, issue, review),
                   "pull_request": self.render.pull(repo, issue),
                   **self._base(repo, review.user)}
        self.deliverer.send(repo, "pull_request_review", payload)

    def push(self, repo: Repo, pusher: User, ref: str, before: str, after: str) -> None:
        """A ref moved from ``before`` to ``after`` (either may be all zeros)."""
        commits = self._commits(repo, before, after)
        forced = ZERO not in (before, after) and not _is_ancestor(repo, before, after)
        compare = f"{self.render.origin}/{repo.full_name}/compare/{before[:12]}...{after[:12]}"
        rendered = self.render.repo(repo)
        # A push payload writes the repository's times as Unix seconds, unlike the others.
        for name in ("created_at", "pushed_at"):
            rendered[name] = int(datetime.datetime.fromisoformat(rendered[name]).timestamp())
        rendered["master_branch"] = repo.default_branch
        payload = {
            "ref": ref, "before": before, "after": after, "created": before == ZERO,
            "deleted": after == ZERO, "forced": forced, "base_ref": None, "compare": compare,
            "commits": commits, "head_commit": commits[-1] if commits else None,
            "repository": rendered,
            "pusher": {"name": pusher.login, "email": f"{pusher.login}@users.noreply.forge"},
            "sender": self.render.user(pusher),
        }
        self.deliverer.send(repo, "push", payload)

    def _commits(self, repo: Repo, before: str, after: str) -> list[dict[str, Any]]:
        if after == ZERO:
            return []
        span = after if before == ZERO else f"{before}..{after}"
        fields = "%H%x00%T%x00%an%x00%ae%x00%cn%x00%ce%x00%aI%x00%B%x1e"
        listed = git(repo.path, "log", "--reverse", "-n", "20", f"--format={fields}", span)
        commits = []
        for record in filter(None, (chunk.strip("\n") for chunk in listed.split("\x1e"))):
            sha, tree, author, author_email, committer, committer_email, when, message = \
                record.split("\x00")
            commits.append({
                "id": sha, "tree_id": tree, "distinct": True, "message": message.strip(),
                "timestamp": when,
                "url": f"{self.render.origin}/{repo.full_name}/commit/{sha}",
                "author": {"name": author, "email": author_email},
                "committer": {"name": committer, "email": committer_email},
                "added": [], "removed": [], "modified": [],
            })
        return commits


def _is_ancestor(repo: Repo, older: str, newer: str) -> bool:
    return run_git(repo.path, "merge-base", "--is-ancestor", older, newer).returncode == 0
