"""The Python client that openapi-generator makes from the spec (`make clients`), driving
the live server: a full scenario, and the typed errors."""

import pytest

import prosody_admin_client as pac
from prosody_admin_client.exceptions import (
    BadRequestException, ConflictException, ForbiddenException, NotFoundException, UnauthorizedException,
)


def client(server, token):
    cfg = pac.Configuration(host=server.url, access_token=token)
    return pac.ApiClient(cfg)


def test_full_scenario(server):
    api = client(server, server.token)
    users, groups, invites, info = pac.UserApi(api), pac.GroupApi(api), pac.InviteApi(api), pac.ServerApi(api)

    assert info.get_server_info().site_name == "localhost"
    g = groups.create_group(pac.NewGroup(name="Py team", create_muc=True))
    assert len(g.id) == 12 and g.muc_jid.endswith("@groups.localhost") and g.members == []

    # ttl is a number or a string of digits (spec: Ttl, oneOf): the generated client wraps it.
    acc = invites.create_invite_for_account(pac.NewAccountInvite(username="pynewbie", ttl=pac.Ttl(3600), groups=[g.id]))
    assert acc.jid == "pynewbie@localhost" and acc.groups == [g.id] and acc.expires - acc.created_at == 3600
    grp = invites.create_invite_for_group(pac.NewGroupInvite(groups=[g.id]))
    assert grp.reusable and grp.expires == 32503680000
    fresh = invites.create_invite_for_group(pac.NewGroupInvite(group_options=pac.NewGroup(name="Fresh")))
    assert groups.get_group_by_id(fresh.groups[0]).name == "Fresh"
    rst = invites.create_invite_for_account_reset(pac.NewResetInvite(username="bob"))
    assert rst.reset and rst.jid == "bob@localhost"
    for inv in (acc, grp, fresh, rst):
        assert invites.get_invite_by_id(inv.id).token == inv.id
    listed = [i.id for i in invites.list_invites()]
    assert {acc.id, grp.id, fresh.id, rst.id} <= set(listed)

    groups.add_group_member(g.id, "bob")
    groups.add_group_member(g.id, "carol")
    assert groups.get_group_by_id(g.id).members == ["bob", "carol"]
    assert g.id in users.get_user_groups("bob")
    groups.delete_group_member(g.id, "carol")
    assert groups.get_group_by_id(g.id).members == ["bob"]

    u = users.update_user("carol", pac.User(display_name="Carol C.", roles=["custom:role"]))
    # The server runs on a new database, hence Prosody 13's layout: roles also list the
    # primary role in effect (the default one, prosody:registered).
    assert u.display_name == "Carol C." and u.roles == ["custom:role", "prosody:registered"]
    assert users.get_user_by_name("carol").display_name == "Carol C."
    assert [x.username for x in users.list_users()][:2] == ["admin", "alice"]

    dbg = users.get_user_debug_info("alice")
    assert dbg.sessions == [] and dbg.push_registrations == {} and dbg.omemo.status.valid is False

    for inv in (acc, grp, fresh, rst):
        invites.delete_invite(inv.id)
    with pytest.raises(NotFoundException):
        invites.get_invite_by_id(acc.id)
    groups.delete_group(g.id)
    groups.delete_group(fresh.groups[0])
    with pytest.raises(NotFoundException):
        groups.get_group_by_id(g.id)
    users.delete_user("carol")
    with pytest.raises(NotFoundException):
        users.get_user_by_name("carol")


def test_later_operations(server):
    """The later module's operations, through the generated client."""
    api = client(server, server.token)
    users, groups, invites, srv = pac.UserApi(api), pac.GroupApi(api), pac.InviteApi(api), pac.ServerApi(api)

    u = users.patch_user("bob", pac.UserPatch(enabled=False))
    assert u.enabled is False and u.username == "bob"
    assert users.patch_user("bob", pac.UserPatch(enabled=True)).enabled is True
    u = users.update_user("bob", pac.User(role="prosody:member"))
    assert u.role == "prosody:member" and u.secondary_roles == []

    g = groups.create_group(pac.NewGroup(name="Later", create_muc=True))
    groups.update_group(g.id, pac.GroupUpdate(name="Later 2"))
    chat = groups.create_group_chat(g.id, pac.NewGroupChat(name="Side"))
    assert chat.jid == f"{chat.id}@groups.localhost" and chat.name == "Side" and chat.deleted is False
    got = groups.get_group_by_id(g.id)
    assert got.name == "Later 2" and chat.id in [c.id for c in got.chats]
    groups.delete_group_chat(g.id, chat.id)
    assert chat.id not in [c.id for c in groups.get_group_by_id(g.id).chats]
    with pytest.raises(NotFoundException):
        groups.delete_group_chat(g.id, chat.id)

    inv = invites.create_invite_for_account(
        pac.NewAccountInvite(ttl=pac.Ttl("604800"), roles=["prosody:member"], note="for py"))
    assert inv.roles == ["prosody:member"] and inv.note == "for py" and inv.expires - inv.created_at == 604800
    invites.delete_invite(inv.id)

    m = srv.get_server_metrics()
    assert m.users is not None and m.users.active_30d == 0 and m.memory is None
    r = srv.post_server_announcement(pac.Announcement(body="Hello from Python", recipients=pac.AnnouncementRecipients("all")))
    assert r.sent_live == 0 and r.stored_offline == len(users.list_users())
    with pytest.raises(ConflictException):
        srv.post_server_announcement(pac.Announcement(body="x", recipients=pac.AnnouncementRecipients("online")))
    groups.delete_group(g.id)


def test_typed_errors(server):
    api = client(server, server.token)
    users, groups = pac.UserApi(api), pac.GroupApi(api)
    with pytest.raises(NotFoundException) as e:
        users.get_user_by_name("nosuchuser")
    assert '"code":404' in e.value.body
    with pytest.raises(BadRequestException):
        users.get_user_by_name("a@b")
    with pytest.raises(NotFoundException):
        groups.add_group_member("nosuchgroup", "alice")
    with pytest.raises(UnauthorizedException) as e:
        pac.UserApi(client(server, "garbage")).list_users()
    assert e.value.headers["WWW-Authenticate"] == 'Bearer realm="localhost/admin_api"'
    server.add_user("pyplain")
    plain = server.cli("token", "create", "--user", "pyplain", "--allow-non-admin")
    with pytest.raises(ForbiddenException):
        pac.UserApi(client(server, plain)).list_users()
