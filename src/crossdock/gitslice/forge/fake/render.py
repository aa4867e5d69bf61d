"""The forge's objects in GitHub's JSON shapes (REST responses and webhook payloads).

URLs follow GitHub Enterprise Server's layout on one origin: the API under ``/api/v3``, pages
and git repositories at ``/{owner}/{repo}``. Fields the forge has no notion of (stars, forks,
milestones, licences) are there with GitHub's empty values, because clients expect them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from crossdock.gitslice.forge.fake.state import (
    Comment,
    ForgeState,
    Hook,
    Issue,
    Repo,
    Review,
    ReviewComment,
    User,
)

JSON = dict[str, Any]


def stamp(moment: datetime.datetime | None) -> str | None:
    """ISO 8601 with a ``Z``, as GitHub writes times."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


#: A repository's URL fields: name -> path below the repository's API URL.
_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
    "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
    "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}", "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}", "languages_url": "/languages",
    "merges_url": "/merges", "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
    "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
}


@dataclass(frozen=True, slots=True)
class Renderer:
    """Renders objects of ``state`` for a forge whose origin is ``origin``."""

    state: ForgeState
    origin: str

    @property
    def api(self) -> str:
        return f"{self.origin}/api/v3"

    def user(self, user: User) -> JSON:
        url = f"{self.api}/users/{user.login}"
        return {
            "login": user.login, "id": user.id, "node_id": f"U_{user.id}",
            "avatar_url": f"{self.origin}/avatars/{user.login}", "gravatar_id": "",
            "url": url, "html_url": f"{self.origin}/{user.login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs", "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": user.kind, "site_admin": False, "user_view_type": "public",
        }

    def repo(self, repo: Repo) -> JSON:
        url = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.origin}/{repo.full_name}"
        open_issues = sum(1 for issue in repo.issues.values() if issue.state == "open")
        rendered: JSON = {name: url + tail for name, tail in _REPO_URLS.items()}
        rendered.update({
            "id": repo.id, "node_id": f"R_{repo.id}", "name": repo.name,
            "full_name": repo.full_name, "owner": self.user(repo.owner),
            "private": repo.private, "visibility": "private" if repo.private else "public",
            "html_url": html, "description": repo.description, "fork": False, "url": url,
            "clone_url": f"{html}.git", "git_url": f"{html}.git", "svn_url": html,
            "ssh_url": f"git@{self.origin.split('://', 1)[1]}:{repo.full_name}.git",
            "mirror_url": None, "homepage": None, "language": None, "size": 0,
            "default_branch": repo.default_branch, "topics": [], "license": None,
            "forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0,
            "watchers_count": 0, "network_count": 0, "subscribers_count": 0,
            "open_issues": open_issues, "open_issues_count": open_issues,
            "has_issues": True, "has_projects": False, "has_wiki": False, "has_pages": False,
            "has_downloads": False, "has_discussions": False, "archived": False,
            "disabled": False, "is_template": False, "allow_forking": True,
            "web_commit_signoff_required": False,
            "created_at": stamp(repo.created_at), "updated_at": stamp(repo.pushed_at),
            "pushed_at": stamp(repo.pushed_at),
        })
        return rendered

    def label(self, repo: Repo, name: str) -> JSON:
        return {"id": repo.labels[name], "node_id": f"LA_{repo.labels[name]}",
                "url": f"{self.api}/repos/{repo.full_name}/labels/{name}", "name": name,
                # A list of pull requests describes a label's description as a string, not
                # null; ``archived_by`` is newer than tests/data/forge, and githubkit needs it.
                "description": "", "color": "ededed", "default": False, "archived_by": None}

    def association(self, repo: Repo, user: User) -> str:
        if user.login == repo.owner.login:
            return "OWNER"
        return "COLLABORATOR" if user.login in repo.collaborators else "NONE"

    def issue(self, repo: Repo, issue: Issue) -> JSON:
        url = f"{self.api}/repos/{repo.full_name}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        rendered: JSON = {
            "id": issue.id, "node_id": f"I_{issue.id}", "number": issue.number, "url": url,
            "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{url}/labels{{/name}}", "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.origin}/{repo.full_name}/{kind}/{issue.number}",
            "title": issue.title, "body": issue.body, "user": self.user(issue.user),
            "labels": [self.label(repo, name) for name in issue.labels],
            "state": issue.state, "state_reason": "completed" if issue.closed_at else None,
            "locked": False, "active_lock_reason": None,
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(user) for user in issue.assignees],
            "milestone": None, "comments": len(issue.comments),
            "created_at": stamp(issue.created_at), "updated_at": stamp(issue.updated_at),
            "closed_at": stamp(issue.closed_at),
            "author_association": self.association(repo, issue.user),
            "reactions": self.reactions(url, []), "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
        }
        if issue.pull:
            pulls = f"{self.api}/repos/{repo.full_name}/pulls/{issue.number}"
            rendered["pull_request"] = {
                "url": pulls, "html_url": rendered["html_url"],
                "diff_url": f"{rendered['html_url']}.diff",
                "patch_url": f"{rendered['html_url']}.patch",
                "merged_at": stamp(issue.pull.merged_at),
            }
            rendered["draft"] = issue.pull.draft
        return rendered

    def reactions(self, url: str, given: list[tuple[int, User, str]]) -> JSON:
        counts = dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket",
                                "eyes"), 0)
        for _, _, content in given:
            counts[content] += 1
        return {"url": f"{url}/reactions", "total_count": len(given), **counts}

    def pull(self, repo: Repo, issue: Issue) -> JSON:
        pull = issue.pull
        assert pull is not None
        base = self.issue(repo, issue)
        url = f"{self.api}/repos/{repo.full_name}/pulls/{issue.number}"
        html = base["html_url"]

        def side(ref: str, sha: str) -> JSON:
            return {"label": f"{repo.owner.login}:{ref}", "ref": ref, "sha": sha,
                    "user": self.user(repo.owner), "repo": self.repo(repo)}

        links = {"self": url, "html": html, "issue": base["url"],
                 "comments": base["comments_url"], "review_comments": f"{url}/comments",
                 "review_comment": f"{url}/comments{{/number}}", "commits": f"{url}/commits",
                 "statuses": f"{self.api}/repos/{repo.full_name}/statuses/{pull.head_sha}"}
        return {
            "url": url, "id": issue.id, "node_id": f"PR_{issue.id}", "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": base["url"],
            "commits_url": links["commits"], "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"], "comments_url": links["comments"],
            "statuses_url": links["statuses"], "number": issue.number,
            "state": issue.state, "locked": False, "title": issue.title,
            "user": base["user"], "body": issue.body, "labels": base["labels"],
            "milestone": None, "active_lock_reason": None,
            "created_at": base["created_at"], "updated_at": base["updated_at"],
            "closed_at": base["closed_at"], "merged_at": stamp(pull.merged_at),
            "merge_commit_sha": pull.merge_commit_sha, "assignee": base["assignee"],
            "assignees": base["assignees"], "requested_reviewers": [], "requested_teams": [],
            "head": side(pull.head_ref, pull.head_sha),
            "base": side(pull.base_ref, pull.base_sha),
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": base["author_association"], "auto_merge": None,
            "draft": pull.draft, "merged": pull.merged_at is not None,
            "mergeable": None if pull.merged_at else True, "rebaseable": None,
            "mergeable_state": "unknown" if pull.merged_at else "clean",
            "merged_by": self.user(pull.merged_by) if pull.merged_by else None,
            "comments": len(issue.comments), "review_comments": len(pull.review_comments),
            "maintainer_can_modify": False, "commits": 1, "additions": 0, "deletions": 0,
            "changed_files": 0,
        }

    def comment(self, repo: Repo, issue: Issue, comment: Comment) -> JSON:
        url = f"{self.api}/repos/{repo.full_name}/issues/comments/{comment.id}"
        kind = "pull" if issue.pull else "issues"
        return {
            "id": comment.id, "node_id": f"IC_{comment.id}", "url": url,
            "html_url": f"{self.origin}/{repo.full_name}/{kind}/{issue.number}"
                        f"#issuecomment-{comment.id}",
            "issue_url": f"{self.api}/repos/{repo.full_name}/issues/{issue.number}",
            "body": comment.body, "user": self.user(comment.user),
            "created_at": stamp(comment.created_at), "updated_at": stamp(comment.created_at),
            "author_association": self.association(repo, comment.user),
            "reactions": self.reactions(url, comment.reactions),
            "performed_via_github_app": None,
        }

    def reaction(self, reaction: tuple[int, User, str]) -> JSON:
        ident, user, content = reaction
        return {"id": ident, "node_id": f"REA_{ident}", "user": self.user(user),
                "content": content, "created_at": stamp(datetime.datetime.now(datetime.UTC))}

    def review(self, repo: Repo, issue: Issue, review: Review) -> JSON:
        pulls = f"{self.api}/repos/{repo.full_name}/pulls/{issue.number}"
        html = f"{self.origin}/{repo.full_name}/pull/{issue.number}#pullrequestreview-{review.id}"
        return {
            "id": review.id, "node_id": f"PRR_{review.id}", "user": self.user(review.user),
            "body": review.body, "state": review.state, "html_url": html,
            "pull_request_url": pulls, "commit_id": review.commit_id,
            "submitted_at": stamp(review.submitted_at),
            "author_association": self.association(repo, review.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": pulls}},
        }

    def review_comment(self, repo: Repo, issue: Issue, comment: ReviewComment) -> JSON:
        pulls = f"{self.api}/repos/{repo.full_name}/pulls/{issue.number}"
        url = f"{self.api}/repos/{repo.full_name}/pulls/comments/{comment.id}"
        html = f"{self.origin}/{repo.full_name}/pull/{issue.number}#discussion_r{comment.id}"
        # GitHub leaves the field out of a comment that starts a thread.
        reply = {} if comment.in_reply_to is None else {"in_reply_to_id": comment.in_reply_to}
        return {
            **reply,
            "id": comment.id, "node_id": f"PRRC_{comment.id}", "url": url,
            "pull_request_review_id": comment.review_id, "diff_hunk": "@@ -0,0 +0,0 @@",
            "path": comment.path, "position": comment.line, "original_position": comment.line,
            "commit_id": comment.commit_id, "original_commit_id": comment.commit_id,
            "user": self.user(comment.user), "body": comment.body,
            "created_at": stamp(comment.created_at), "updated_at": stamp(comment.created_at),
            "html_url": html, "pull_request_url": pulls,
            "author_association": self.association(repo, comment.user),
            "_links": {"self": {"href": url}, "html": {"href": html},
                       "pull_request": {"href": pulls}},
            "line": comment.line, "original_line": comment.line, "side": comment.side,
            "start_line": comment.start_line, "original_start_line": comment.start_line,
            "start_side": comment.start_side, "subject_type": "line",
            "reactions": self.reactions(url, []),
        }

    def hook(self, repo: Repo, hook: Hook) -> JSON:
        url = f"{self.api}/repos/{repo.full_name}/hooks/{hook.id}"
        return {
            "type": "Repository", "id": hook.id, "name": "web", "active": hook.active,
            "events": list(hook.events),
            "config": {"url": hook.url, "content_type": "json", "insecure_ssl": "0",
                       "secret": "********"},
            "updated_at": stamp(hook.created_at), "created_at": stamp(hook.created_at),
            "url": url, "test_url": f"{url}/test", "ping_url": f"{url}/pings",
            "deliveries_url": f"{url}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        }

    def permission(self, repo: Repo, user: User | None, login: str) -> JSON:
        role = self.state.role(repo, user) or "none"
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        shown = self.user(user) if user else {**self.user(User(login=login, id=0))}
        collaborator = {**shown, "role_name": role,
                        "permissions": {"admin": role == "admin",
                                        "maintain": role in {"admin", "maintain"},
                                        "push": role in {"admin", "maintain", "write"},
                                        "triage": role not in {"none", "read"},
                                        "pull": role != "none"}}
        return {"permission": legacy, "role_name": role, "user": collaborator}
