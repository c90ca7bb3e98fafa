//! The operations the SDK sends, by name: the seven of the API, plus the reads of a next page and of a polling
//! URL. What the pipeline, the poller and the decision logic need to know about an operation is here.

use std::fmt;

/// One kind of request the SDK sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Operation {
    /// `Operations_List`.
    OperationsList,
    /// `Get_TenantOptedIn`.
    GetTenantOptedIn,
    /// `Post_EnableLockbox`.
    PostEnableLockbox,
    /// `Post_DisableLockbox`.
    PostDisableLockbox,
    /// `Requests_Get`; also each read of a request awaited with `wait_for_decision`.
    RequestsGet,
    /// `Requests_List`.
    RequestsList,
    /// `Requests_UpdateStatus`: an approval or a denial.
    RequestsUpdateStatus,
    /// A next page of `Operations_List`, at a `nextLink`.
    OperationsListPage,
    /// A next page of `Requests_List`, at a `nextLink`.
    RequestsListPage,
    /// A poll of `Post_EnableLockbox`'s progress.
    PostEnableLockboxPoll,
    /// A poll of `Post_DisableLockbox`'s progress.
    PostDisableLockboxPoll,
    /// A poll of a decision's progress.
    RequestsUpdateStatusPoll,
    /// Resource Manager's `Subscriptions_List` (api-version [`SUBSCRIPTIONS_API_VERSION`]).
    SubscriptionsList,
    /// A next page of `Subscriptions_List`, at a `nextLink`.
    SubscriptionsListPage,
}

/// The api-version of Resource Manager's subscriptions API, used by `Subscriptions_List` and its pages only.
pub(crate) const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";

/// How a long-running operation's result is found once it is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Polled {
    /// Not polled: the first answer is the result.
    No,
    /// Polled, with this operation for each poll.
    With(Operation),
}

impl Operation {
    const ALL: [Operation; 14] = [
        Self::OperationsList,
        Self::GetTenantOptedIn,
        Self::PostEnableLockbox,
        Self::PostDisableLockbox,
        Self::RequestsGet,
        Self::RequestsList,
        Self::RequestsUpdateStatus,
        Self::OperationsListPage,
        Self::RequestsListPage,
        Self::PostEnableLockboxPoll,
        Self::PostDisableLockboxPoll,
        Self::RequestsUpdateStatusPoll,
        Self::SubscriptionsList,
        Self::SubscriptionsListPage,
    ];

    /// The name in spans and errors: the generated operation id; a page read is named as its listing.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::OperationsList | Self::OperationsListPage => "operations_list",
            Self::GetTenantOptedIn => "get_tenant_opted_in",
            Self::PostEnableLockbox => "post_enable_lockbox",
            Self::PostDisableLockbox => "post_disable_lockbox",
            Self::RequestsGet => "requests_get",
            Self::RequestsList | Self::RequestsListPage => "requests_list",
            Self::RequestsUpdateStatus => "requests_update_status",
            Self::PostEnableLockboxPoll => "post_enable_lockbox_poll",
            Self::PostDisableLockboxPoll => "post_disable_lockbox_poll",
            Self::RequestsUpdateStatusPoll => "requests_update_status_poll",
            Self::SubscriptionsList | Self::SubscriptionsListPage => "subscriptions_list",
        }
    }

    /// The api-version it is sent with when not the client's: Resource Manager's subscriptions API has its own.
    pub(crate) fn own_api_version(self) -> Option<&'static str> {
        match self {
            Self::SubscriptionsList | Self::SubscriptionsListPage => Some(SUBSCRIPTIONS_API_VERSION),
            _ => None,
        }
    }

    /// The operation a generated operation id names (progenitor's `OperationInfo::operation_id`).
    pub(crate) fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| !op.is_link_read() && op.name() == id)
    }

    /// The operation a name (as a resume token stores it) names, reads of links included.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether sending it twice does no harm, so that any failure may be retried. Only a decision is not: a
    /// second approval after the first was taken is refused, or worse, counted twice.
    pub(crate) fn safe_to_resend(self) -> bool {
        !self.is_decision()
    }

    /// Whether it records a decision on a request (see `src/decision/`).
    pub(crate) fn is_decision(self) -> bool {
        self == Self::RequestsUpdateStatus
    }

    /// How its progress is followed when it answers `202 Accepted` (or, for a request, until it is final).
    pub(crate) fn polled(self) -> Polled {
        match self {
            Self::PostEnableLockbox => Polled::With(Self::PostEnableLockboxPoll),
            Self::PostDisableLockbox => Polled::With(Self::PostDisableLockboxPoll),
            Self::RequestsUpdateStatus => Polled::With(Self::RequestsUpdateStatusPoll),
            Self::RequestsGet => Polled::With(Self::RequestsGet),
            _ => Polled::No,
        }
    }

    /// The read of its next page, for a listing.
    pub(crate) fn next_page(self) -> Option<Self> {
        match self {
            Self::OperationsList => Some(Self::OperationsListPage),
            Self::RequestsList => Some(Self::RequestsListPage),
            Self::SubscriptionsList => Some(Self::SubscriptionsListPage),
            _ => None,
        }
    }

    /// A GET of a URL the service handed out (a next page or a poll), not a generated operation.
    fn is_link_read(self) -> bool {
        matches!(
            self,
            Self::OperationsListPage
                | Self::RequestsListPage
                | Self::SubscriptionsListPage
                | Self::PostEnableLockboxPoll
                | Self::PostDisableLockboxPoll
                | Self::RequestsUpdateStatusPoll
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_a_decision_is_unsafe_to_resend() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()).map(Operation::name), Some(op.name()));
            assert_eq!(op.safe_to_resend(), op != Operation::RequestsUpdateStatus, "{op}");
            assert_eq!(op.is_decision(), op == Operation::RequestsUpdateStatus, "{op}");
        }
        assert_eq!(Operation::from_id("requests_update_status"), Some(Operation::RequestsUpdateStatus));
        assert_eq!(Operation::from_id("requests_update_status_poll"), None);
        assert_eq!(Operation::from_id("whatever"), None);
    }

    #[test]
    fn polls_are_reads_traced_apart_from_the_decision() {
        // A poll is a GET: never traced (nor retried) as the decision itself.
        let Polled::With(poll) = Operation::RequestsUpdateStatus.polled() else { panic!("a decision is polled") };
        assert_eq!(poll.name(), "requests_update_status_poll");
        assert!(poll.safe_to_resend());
        assert_eq!(Operation::RequestsGet.polled(), Polled::With(Operation::RequestsGet));
        assert_eq!(Operation::RequestsList.polled(), Polled::No);
        assert_eq!(Operation::RequestsList.next_page().map(Operation::name), Some("requests_list"));
    }
}
