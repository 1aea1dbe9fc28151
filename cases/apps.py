from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from cases import messages, notes, reply_actions  # noqa: F401  (codes, kinds)
        from cases.account_settings import case_settings_of
        from cases.case_tag import case_search_operator
        from cases.models import GROUP_ACCOUNT_CASE_FIELDS, LINKED_BY_CASE_TAG, LINKED_BY_NEW_CASE
        from cases.notification_reasons import register_notification_reasons
        from crm.permissions import record_access_register
        from mailboxes.account_panels import account_form_panel_register
        from mailboxes.inbox.search_query import search_operator_register
        from mailboxes.intake.pipeline import step_provide
        from mailboxes.linking.parents import (
            email_parent_register,
            link_rule_register,
            linked_by_register,
        )
        from mailboxes.models.accounts import group_account_extend
        from mailboxes.sending.send_actions import SendAction, send_action_register

        record_access_register("case", _("cases"), order=20)
        email_parent_register("case", "cases.Case")
        linked_by_register(LINKED_BY_CASE_TAG, _("Case number"))
        linked_by_register(LINKED_BY_NEW_CASE, _("Opening this case"))
        # by import path: the intake loads when a fetch first brings mail, not at start-up
        link_rule_register("cases.intake.case_thread_link")
        step_provide("case", "cases.intake.email_to_case")
        step_provide("auto_reply", "cases.intake.queue_auto_reply")
        search_operator_register("case", case_search_operator)
        register_notification_reasons()
        group_account_extend(
            related_name="case_settings",
            fields=GROUP_ACCOUNT_CASE_FIELDS,
            row_of=case_settings_of,
            team_ids=lambda account: [case_settings_of(account).target_team_id],
        )
        send_action_register(
            SendAction(
                name="case",
                template="cases/_reply_actions.html",
                offer=reply_actions.case_reply_offer,
                clean=reply_actions.case_reply_clean,
                apply=reply_actions.case_reply_apply,
            )
        )
        account_form_panel_register(_group_account_panel)


def _group_account_panel():
    """The Email-to-case and Auto-reply panels of the group account form (forms are
    imported when a form is first shown, not in every process that loads the apps)."""
    from cases.account_settings import case_settings_of
    from cases.forms import GROUP_ACCOUNT_PANELS, GroupAccountCasesForm, group_account_summary
    from mailboxes.forms import AccountFormPanel

    return AccountFormPanel(
        form_class=GroupAccountCasesForm,
        panels=GROUP_ACCOUNT_PANELS,
        instance_of=case_settings_of,
        summary=group_account_summary,
        dependent_fields=(("target_team", "target_team_role"),),
    )
