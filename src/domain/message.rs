//! Messages the service sends, and the answers people give to invitations.

use super::text::parse_enum;

/// What a message is about; it names the templates the worker renders it from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Invitation,
    RegistrationConfirmed,
    RegistrationWaitlisted,
    RegistrationPromoted,
    RegistrationCancelled,
    EventUpdated,
    EventCancelled,
    Reminder,
    EmployerApproved,
    LinkRequested,
    LinkAccepted,
    LinkDeclined,
    StandConfirmed,
    PasswordReset,
    AccountInvitation,
    EmployerSignupReceived,
    OrganiserEmployerSignedUp,
    OrganiserStandRequested,
    InterviewBooked,
    InterviewCancelled,
    Feedback,
    PlaceOffered,
    OfferLapsed,
}

impl MessageKind {
    pub const ALL: [MessageKind; 23] = [
        MessageKind::Invitation,
        MessageKind::RegistrationConfirmed,
        MessageKind::RegistrationWaitlisted,
        MessageKind::RegistrationPromoted,
        MessageKind::RegistrationCancelled,
        MessageKind::EventUpdated,
        MessageKind::EventCancelled,
        MessageKind::Reminder,
        MessageKind::EmployerApproved,
        MessageKind::LinkRequested,
        MessageKind::LinkAccepted,
        MessageKind::LinkDeclined,
        MessageKind::StandConfirmed,
        MessageKind::PasswordReset,
        MessageKind::AccountInvitation,
        MessageKind::EmployerSignupReceived,
        MessageKind::OrganiserEmployerSignedUp,
        MessageKind::OrganiserStandRequested,
        MessageKind::InterviewBooked,
        MessageKind::InterviewCancelled,
        MessageKind::Feedback,
        MessageKind::PlaceOffered,
        MessageKind::OfferLapsed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Invitation => "invitation",
            MessageKind::RegistrationConfirmed => "registration_confirmed",
            MessageKind::RegistrationWaitlisted => "registration_waitlisted",
            MessageKind::RegistrationPromoted => "registration_promoted",
            MessageKind::RegistrationCancelled => "registration_cancelled",
            MessageKind::EventUpdated => "event_updated",
            MessageKind::EventCancelled => "event_cancelled",
            MessageKind::Reminder => "reminder",
            MessageKind::EmployerApproved => "employer_approved",
            MessageKind::LinkRequested => "link_requested",
            MessageKind::LinkAccepted => "link_accepted",
            MessageKind::LinkDeclined => "link_declined",
            MessageKind::StandConfirmed => "stand_confirmed",
            MessageKind::PasswordReset => "password_reset",
            MessageKind::AccountInvitation => "account_invitation",
            MessageKind::EmployerSignupReceived => "employer_signup_received",
            MessageKind::OrganiserEmployerSignedUp => "organiser_employer_signed_up",
            MessageKind::OrganiserStandRequested => "organiser_stand_requested",
            MessageKind::InterviewBooked => "interview_booked",
            MessageKind::InterviewCancelled => "interview_cancelled",
            MessageKind::Feedback => "feedback",
            MessageKind::PlaceOffered => "place_offered",
            MessageKind::OfferLapsed => "offer_lapsed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |k| k.as_str())
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 4] = [MessageStatus::Pending, MessageStatus::Sending, MessageStatus::Sent, MessageStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |k| k.as_str())
    }
}

/// An RSVP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
}

impl Answer {
    pub const ALL: [Answer; 2] = [Answer::Accept, Answer::Decline];

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Accept => "accept",
            Answer::Decline => "decline",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |a| a.as_str())
    }

    /// How the answer is recorded.
    pub fn recorded(self) -> &'static str {
        match self {
            Answer::Accept => "accepted",
            Answer::Decline => "declined",
        }
    }

    /// The answer a recorded word stands for.
    pub fn from_recorded(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |a| a.recorded())
    }
}
