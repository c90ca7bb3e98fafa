#![allow(missing_docs)]
pub mod status { 
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)] pub enum LockboxRequestStatus { A }
    impl std::fmt::Display for LockboxRequestStatus { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("a") } }
    impl std::str::FromStr for LockboxRequestStatus { type Err = String; fn from_str(_: &str) -> Result<Self, String> { Ok(Self::A) } }
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)] pub enum ApprovalDecision { A }
    impl std::fmt::Display for ApprovalDecision { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("a") } }
    impl std::str::FromStr for ApprovalDecision { type Err = String; fn from_str(_: &str) -> Result<Self, String> { Ok(Self::A) } }
}
pub mod pipeline { #[derive(Debug, Clone)] pub struct Pipeline; }
#[cfg(feature = "emulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "emulator")))]
pub mod emulator;
