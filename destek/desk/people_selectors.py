"""Reading customers and organisations for the desk: the one door to each, and what their
pages list.

The rule, written once: admins reach every customer and organisation; an agent reaches a
customer who has a ticket in one of the agent's departments, and an organisation one of
whose members has. Anyone else reaches none. A customer the agent may not reach and an id
that does not exist look the same (`DoesNotExist`, a 404 at the edge). The tickets listed on
either page are only those the reader may open (`Ticket.objects.visible_to`).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from destek.accounts.choices import Role
from destek.accounts.models import CustomerNote, Organisation, OrganisationNote, User
from destek.accounts.selectors import organisation_domains, same_domain_customers
from destek.chat.models import Chat
from destek.lib.errors import ActionRefused
from destek.tickets.models import Ticket
from destek.tickets.selectors import Page, keyset_page

#: Tickets per page on a customer's or an organisation's page.
TICKETS_PAGE = 25

#: Members an organisation's page lists; beyond it the page says there are more.
MEMBERS_SHOWN = 100

#: Customers an organisation's domains suggest, at most, on its page.
SUGGESTIONS_SHOWN = 50

#: Recent chat ratings on a customer's page.
RATINGS_SHOWN = 5


def customers_visible_to(user: User) -> QuerySet[User]:
    """The customers `user` may open in the desk (see the module's rule)."""
    if not user.is_agent:
        return User.objects.none()
    customers = User.objects.filter(role=Role.CUSTOMER)
    if user.is_admin:
        return customers
    return customers.filter(
        Exists(Ticket.objects.visible_to(user).filter(customer_id=OuterRef("pk")))
    )


def organisations_visible_to(user: User) -> QuerySet[Organisation]:
    if not user.is_agent:
        return Organisation.objects.none()
    if user.is_admin:
        return Organisation.objects.all()
    return Organisation.objects.filter(
        Exists(Ticket.objects.visible_to(user).filter(customer__organisation_id=OuterRef("pk")))
    )


def access_customer(user: User, customer_id: int) -> User:
    """The customer `customer_id`, with their organisation, if `user` may open them; raises
    User.DoesNotExist otherwise."""
    return customers_visible_to(user).select_related("organisation").get(pk=customer_id)


def access_organisation(user: User, organisation_id: int) -> Organisation:
    """The organisation `organisation_id` if `user` may open it; raises
    Organisation.DoesNotExist otherwise."""
    return organisations_visible_to(user).get(pk=organisation_id)


def _page(tickets: QuerySet[Ticket], cursor: str | None) -> Page:
    try:
        return keyset_page(tickets, cursor=cursor, limit=TICKETS_PAGE)
    except ActionRefused:
        # A stale or mangled link (cursors are signed): the first page, not an error page.
        return keyset_page(tickets, cursor=None, limit=TICKETS_PAGE)


_TICKET_COLUMNS = (
    "number",
    "subject",
    "status",
    "channel",
    "priority",
    "updated_at",
    "created_at",
    "department__name",
    "department__names",
)


def customer_tickets(user: User, customer: User, *, cursor: str | None) -> Page:
    """A page of `customer`'s tickets from every channel that `user` may open, newest first
    (one statement, on the (customer, id) index however deep the page)."""
    tickets = (
        Ticket.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("department")
        .only(*_TICKET_COLUMNS)
    )
    return _page(tickets, cursor)


def organisation_tickets(user: User, organisation: Organisation, *, cursor: str | None) -> Page:
    """A page of the tickets of the organisation's members that `user` may open, newest
    first, with their customer."""
    tickets = (
        Ticket.objects.visible_to(user)
        .filter(customer__organisation=organisation)
        .select_related("department", "customer")
        .only(*_TICKET_COLUMNS, "customer__full_name", "customer__email")
    )
    return _page(tickets, cursor)


def customer_notes(customer: User) -> QuerySet[CustomerNote]:
    return CustomerNote.objects.filter(customer=customer).select_related("author").order_by("-id")


def organisation_notes(organisation: Organisation) -> QuerySet[OrganisationNote]:
    return (
        OrganisationNote.objects.filter(organisation=organisation)
        .select_related("author")
        .order_by("-id")
    )


def recent_ratings(user: User, customer: User) -> QuerySet[Chat]:
    """The customer's latest chat ratings, on chats whose ticket `user` may open."""
    return (
        Chat.objects.filter(
            visitor=customer,
            rating__isnull=False,
            ticket__in=Ticket.objects.visible_to(user).filter(customer=customer).values("pk"),
        )
        .select_related("ticket")
        .only("rating", "rating_comment", "ended_at", "created_at", "ticket__number")
        .order_by("-pk")[:RATINGS_SHOWN]
    )


def members(user: User, organisation: Organisation) -> list[User]:
    """The organisation's members by name, at most MEMBERS_SHOWN + 1 (the caller says there
    are more), each marked `openable` when `user` may open their page."""
    return list(
        User.objects.filter(organisation=organisation, role=Role.CUSTOMER)
        .annotate(openable=Exists(customers_visible_to(user).filter(pk=OuterRef("pk"))))
        .only("full_name", "email", "tier")
        .order_by("full_name", "email")[: MEMBERS_SHOWN + 1]
    )


def suggested_members(user: User, organisation: Organisation) -> tuple[list[str], list[User]]:
    """The organisation's domains, and the customers of no organisation whose address is
    in one of them that `user` may open: offered with "Confirm as member", never joined
    without it."""
    domains = organisation_domains(organisation)
    if not domains:
        return [], []
    suggested = same_domain_customers(domains).filter(
        pk__in=customers_visible_to(user).values("pk")
    )
    return domains, list(suggested.only("full_name", "email").order_by("email")[:SUGGESTIONS_SHOWN])
