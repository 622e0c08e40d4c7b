package api

import (
	"net/http"

	"github.com/allot-dev/allot"
)

// Dynamic membership rules evaluated for chosen users
// (docs/DYNAMIC-GROUPS.md): Graph's evaluateDynamicMembership (a beta
// action, served on both versions), and Allot's validateRule, which takes
// several users at once for the admin center's "Validate rules".

type evaluateBody struct {
	MemberID       *string `json:"memberId"`
	MembershipRule *string `json:"membershipRule"`
}

func (evaluateBody) graphType() string { return "microsoft.graph.evaluateDynamicMembership" }

// evaluateDynamicMembership serves POST /groups/evaluateDynamicMembership
// (a draft rule) and /groups/{id}/evaluateDynamicMembership (the group's
// rule, or a draft in its place when membershipRule is given).
func (s *server) evaluateDynamicMembership(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	groupID := r.PathValue("id")
	if groupID != "" {
		var err error
		if groupID, err = guid(groupID); err != nil {
			return err
		}
	}
	var b evaluateBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.MemberID == nil {
		return required("memberId", "evaluateDynamicMembership")
	}
	member, err := guid(*b.MemberID)
	if err != nil {
		return err
	}
	rule := ""
	if b.MembershipRule != nil {
		rule = *b.MembershipRule
	}
	if groupID == "" && rule == "" {
		return required("membershipRule", "evaluateDynamicMembership")
	}
	evs, err := s.svc.Groups.EvaluateMembershipRule(r.Context(), groupID, rule, []string{member})
	if err != nil {
		return err
	}
	v := evaluationView(evs[0])
	v["@odata.context"] = s.metadata(r, "microsoft.graph.evaluateDynamicMembershipResult", nil)
	if rule == "" {
		g, err := s.svc.Groups.Group(r.Context(), groupID)
		if err != nil {
			return err
		}
		rule = g.MembershipRule
	}
	v["membershipRule"] = rule
	writeJSON(w, http.StatusOK, v)
	return nil
}

func evaluationView(e allot.RuleEvaluation) object {
	return object{
		"membershipRuleEvaluationResult":  e.Result,
		"membershipRuleEvaluationDetails": detailView(e.Details),
	}
}

// detailView is Graph's expressionEvaluationDetails.
func detailView(d allot.RuleDetail) object {
	children := make([]object, 0, len(d.Children))
	for _, c := range d.Children {
		children = append(children, detailView(c))
	}
	return object{"expression": d.Expression, "expressionResult": d.Result, "expressionEvaluationDetails": children}
}

type validateRuleBody struct {
	MembershipRule *string   `json:"membershipRule"`
	UserIDs        *[]string `json:"userIds"`
}

// validateRule serves POST /allot/v1/groups/validateRule: whether a draft
// rule can be saved (a 400 naming the column and the reason when not), and
// how it evaluates, clause by clause, for up to 20 users.
func (s *server) validateRule(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b validateRuleBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.MembershipRule == nil || *b.MembershipRule == "" {
		return required("membershipRule", "validateRule")
	}
	var ids []string
	if b.UserIDs != nil {
		for _, id := range *b.UserIDs {
			g, err := guid(id)
			if err != nil {
				return err
			}
			ids = append(ids, g)
		}
	}
	evs, err := s.svc.Groups.EvaluateMembershipRule(r.Context(), "", *b.MembershipRule, ids)
	if err != nil {
		return err
	}
	results := make([]object, 0, len(evs))
	for _, e := range evs {
		v := evaluationView(e)
		v["userId"] = e.UserID
		results = append(results, v)
	}
	writeJSON(w, http.StatusOK, object{"membershipRule": *b.MembershipRule, "valid": true, "results": results})
	return nil
}
