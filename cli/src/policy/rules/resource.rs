//! Resource ids as the service writes them, parsed into segments so that rules compare values, not spellings.
//!
//! The service promises no one spelling: the upstream examples write
//! `SUBSCRIPTIONS/…/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/DEMO` (upper case, no
//! leading `/`), the portal `/subscriptions/…/resourceGroups/prod-rg/…`. A [`ResourceId`] is the same value
//! for every such spelling: its segments, compared without regard to ASCII case, with no leading or trailing
//! `/`.

use std::fmt;

/// A resource id (or a prefix of one), as its `/`-separated segments.
#[derive(Clone, Debug)]
pub struct ResourceId {
    /// The segments as written (their case kept, for messages); never empty, none empty.
    segments: Vec<String>,
}

impl ResourceId {
    /// Parses `text`: segments separated by `/`, a leading or trailing `/` allowed.
    ///
    /// # Errors
    /// Empty text, or an empty segment inside (`a//b`), said in words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim().trim_matches('/');
        if trimmed.is_empty() {
            return Err(format!("{text:?} is not a resource id (it has no segment)"));
        }
        let segments: Vec<String> = trimmed.split('/').map(str::to_owned).collect();
        if segments.iter().any(|s| s.trim().is_empty()) {
            return Err(format!("{text:?} is not a resource id (it has an empty segment)"));
        }
        Ok(Self { segments })
    }

    /// Whether `prefix`'s segments are the first segments of this id, each equal without regard to case:
    /// `/subscriptions/s/resourceGroups/contoso-rg` is a prefix of `…/contoso-rg/providers/…`, not of
    /// `…/contoso-rg-prod/…`.
    pub fn starts_with(&self, prefix: &ResourceId) -> bool {
        prefix.segments.len() <= self.segments.len()
            && prefix.segments.iter().zip(&self.segments).all(|(p, s)| p.eq_ignore_ascii_case(s))
    }

    /// The ARM resource type: the namespace after the last `providers` segment and each type after it, joined
    /// (`Microsoft.Storage/storageAccounts`, `Microsoft.Sql/servers/databases`). `None` when the id names no
    /// provider's resource (a resource group, a subscription).
    pub fn arm_type(&self) -> Option<ArmType> {
        let at = self.segments.iter().rposition(|p| p.eq_ignore_ascii_case("providers"))?;
        let rest = self.segments.get(at.saturating_add(1)..)?;
        let mut parts = vec![rest.first()?.clone()];
        parts.extend(rest.iter().skip(1).step_by(2).cloned());
        (parts.len() > 1).then_some(ArmType { parts })
    }
}

impl fmt::Display for ResourceId {
    /// The canonical spelling: a leading `/`, the segments as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            write!(f, "/{segment}")?;
        }
        Ok(())
    }
}

/// An ARM resource type derived from a [`ResourceId`]: a namespace and one or more type names.
#[derive(Clone, Debug)]
pub struct ArmType {
    parts: Vec<String>,
}

impl ArmType {
    /// Whether `text` names this type (`Microsoft.Compute/virtualMachines`), without regard to case or to a
    /// leading or trailing `/`.
    pub fn is(&self, text: &str) -> bool {
        let other: Vec<&str> = text.trim().trim_matches('/').split('/').collect();
        other.len() == self.parts.len() && other.iter().zip(&self.parts).all(|(o, p)| o.eq_ignore_ascii_case(p))
    }
}

impl fmt::Display for ArmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_the_service_uses_is_one_value() {
        let portal = ResourceId::parse(
            "/subscriptions/S/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachines/demo/",
        )
        .unwrap();
        let upstream = ResourceId::parse(
            "SUBSCRIPTIONS/S/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/DEMO",
        )
        .unwrap();
        let group = ResourceId::parse("subscriptions/s/resourcegroups/PROD-RG/").unwrap();
        assert!(portal.starts_with(&group) && upstream.starts_with(&group));
        assert!(upstream.starts_with(&portal) && portal.starts_with(&upstream));
        assert!(upstream.arm_type().unwrap().is("Microsoft.Compute/virtualMachines"));
        assert_eq!(
            portal.to_string(),
            "/subscriptions/S/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachines/demo"
        );
    }

    #[test]
    fn prefixes_are_whole_segments_and_nested_types_are_joined() {
        let id = ResourceId::parse(
            "/subscriptions/s/resourceGroups/contoso-rg-prod/providers/Microsoft.Sql/servers/a/databases/b",
        )
        .unwrap();
        assert!(!id.starts_with(&ResourceId::parse("/subscriptions/s/resourceGroups/contoso-rg").unwrap()));
        assert!(id.arm_type().unwrap().is("microsoft.sql/SERVERS/databases/"));
        assert!(!id.arm_type().unwrap().is("Microsoft.Sql/servers"));
        assert!(ResourceId::parse("/subscriptions/s/resourceGroups/g").unwrap().arm_type().is_none());
    }

    #[test]
    fn empty_ids_and_empty_segments_are_refused() {
        for text in ["", "/", " // ", "/subscriptions//resourceGroups"] {
            assert!(ResourceId::parse(text).is_err(), "{text:?}");
        }
    }
}
