/*
 * calc.c - one constant SQL statement per calculation kind, each returning the
 * cases of an indicator from the search-index rows (docs/results.md says what
 * each kind reads).  Every statement has the same shape: an inner query of
 * the kind (patient, org, stratum, num, value, json) wrapped by the shared
 * filters - organisation and region (the responsible organisation or its
 * partOf), municipality (the citizen's managingOrganization or its partOf),
 * condition, age band - and the citizen's municipality and birth date as
 * columns.  Bound values, always 14 (HEAD names each with its type, so that
 * every slot exists and PostgreSQL knows its type):
 *   ?1 start  ?2 end (exclusive)  ?3 organization  ?4 municipality
 *   ?5 condition system  ?6 condition code  ?7 born after  ?8 born on or before
 *   ?9 region  ?10 now  ?11 code  ?12 code2  ?13 amount (ms)
 *   ?14 1 when the citizen's columns are wanted (else only a citizen filter computes them)
 * Each statement is instantiated for SQLite and for PostgreSQL (SQL_CROSS_JOIN
 * and the other dialect words, at the kinds table).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "results/internal.h"

/*
 * Cost: at 1,000,000 resources an indicator has up to some 200,000 cases, and a
 * seek into an index costs a few microseconds when its page is not in SQLite's
 * cache, so the statements avoid per-case seeks where they can (docs/performance.md):
 * a case list is driven from one index range and, where it is then joined by rid,
 * that range is first sorted by rid (a subquery with ORDER BY rid LIMIT -1, which
 * SQLite does not flatten) so that the seeks that follow walk the rid indexes in
 * order; the Task deadlines are read from the combined rows (store/combined.h:
 * owner, status and deadline in one index row); and the citizen's columns and
 * filters are computed once per distinct citizen (p_), and only when the
 * report needs them (?14) or a citizen filter is set.
 */

/* The responsible organisation is n, or n is its partOf (the children of n are read once). */
#define ORG_FILTER(n)                                                                              \
    " AND (CAST(" n " AS TEXT) IS NULL OR c_.org = " n                                             \
    " OR c_.org IN (SELECT oo_.id FROM idx_reference oq_"                                          \
    " JOIN resource oo_ ON oo_.rid = oq_.rid WHERE oq_.type = 'Organization' AND"                  \
    " oq_.param = 'partof' AND oq_.target_id = " n "))"

/* Whether the citizen's columns are needed: asked for, or a citizen filter is set. */
#define CITIZEN_NEEDED                                                                             \
    "(?14 <> 0 OR CAST(?4 AS TEXT) IS NOT NULL OR CAST(?6 AS TEXT) IS NOT NULL OR"                 \
    " CAST(?8 AS BIGINT) IS NOT NULL)"

/* p_ is never read: it gives PostgreSQL the type of every parameter, some of which a
 * statement does not use. */
#define HEAD                                                                                       \
    "WITH p_ AS (SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT), CAST(?3 AS TEXT),"                 \
    " CAST(?4 AS TEXT), CAST(?5 AS TEXT), CAST(?6 AS TEXT), CAST(?7 AS BIGINT),"                   \
    " CAST(?8 AS BIGINT), CAST(?9 AS TEXT), CAST(?10 AS BIGINT), CAST(?11 AS TEXT),"               \
    " CAST(?12 AS TEXT), CAST(?13 AS BIGINT), CAST(?14 AS BIGINT)), c_ AS MATERIALIZED ("

/* The ids of the citizens whose managingOrganization is ?4 or one of its children. */
#define MUNICIPALITY_PATIENTS                                                                      \
    "(SELECT mp_.id FROM idx_reference mr_ JOIN resource mp_ ON mp_.rid = mr_.rid WHERE"           \
    " mr_.type = 'Patient' AND mr_.param = 'organization' AND mr_.target_id IN (SELECT CAST(?4 "   \
    "AS TEXT)"                                                                                     \
    " UNION ALL SELECT mo_.id FROM idx_reference mq_ JOIN resource mo_ ON mo_.rid = mq_.rid"       \
    " WHERE mq_.type = 'Organization' AND mq_.param = 'partof' AND mq_.target_id = ?4))"

/* After the cases (c_, kind column 1), one row per distinct citizen of the cases
 * (kind column 0) - with a municipality filter, only the citizens of ?4 or of one of
 * its children, read from the municipality's side -: the municipality, the birth
 * date, and in the num column whether the citizen passes the municipality,
 * condition and age filters.  calc.c joins the two in C (SQLite would scan the citizens once per
 * case: it builds no automatic index on a CTE it believes small).  A case without a
 * citizen passes only when no citizen filter is set. */
#define TAIL                                                                                       \
    "), x_ AS MATERIALIZED (SELECT d_.patient AS patient, (SELECT mm_.target_id FROM"              \
    " idx_reference mm_ WHERE mm_.rid = pr_.rid AND mm_.param = 'organization' LIMIT 1) AS"        \
    " municipality, (SELECT bd_.low FROM idx_date bd_ WHERE bd_.rid = pr_.rid AND"                 \
    " bd_.param = 'birthdate' LIMIT 1) AS birth FROM (SELECT DISTINCT patient FROM c_ "            \
    "WHERE " CITIZEN_NEEDED " AND patient IS NOT NULL AND (CAST(?4 AS TEXT) IS NULL OR patient IN" \
    " " MUNICIPALITY_PATIENTS ") ORDER BY patient LIMIT " SQL_ALL_ROWS ") d_ " SQL_CROSS_JOIN      \
    " resource"                                                                                    \
    " pr_ ON pr_.type = 'Patient' AND pr_.id = d_.patient)"                                        \
    " SELECT x_.patient AS patient, NULL AS org, NULL AS stratum, CASE WHEN (CAST(?4 AS TEXT) IS " \
    "NULL OR "                                                                                     \
    "x_.municipality "                                                                             \
    "= ?4 OR x_.municipality IN"                                                                   \
    " (SELECT om_.id FROM idx_reference op_ JOIN resource om_ ON om_.rid = op_.rid WHERE"          \
    " op_.type = 'Organization' AND op_.param = 'partof' AND op_.target_id = ?4))"                 \
    " AND (CAST(?6 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM idx_reference cp_ JOIN idx_token "    \
    "cc_ ON"                                                                                       \
    " cc_.rid = cp_.rid AND cc_.param = 'code' AND cc_.value = ?6 WHERE cp_.type = 'Condition'"    \
    " AND cp_.param = 'patient' AND cp_.target_id = x_.patient AND (CAST(?5 AS TEXT) IS NULL OR"   \
    " cc_.system = ?5))) AND (CAST(?8 AS BIGINT) IS NULL OR (x_.birth > ?7 AND x_.birth <= ?8)) "  \
    "THEN 1 ELSE 0 END AS num,"                                                                    \
    " NULL AS value, x_.municipality AS municipality, x_.birth AS birth, NULL AS json,"            \
    " 0 AS row_kind FROM x_"                                                                       \
    " UNION ALL SELECT c_.patient, c_.org, c_.stratum, c_.num, c_.value, NULL, NULL, c_.json, 1"   \
    " FROM c_ WHERE 1 = 1" ORG_FILTER("?3") ORG_FILTER("?9")

/* A Task's owner as an organisation: a PractitionerRole stands for its organisation. */
#define OWNER_ORG(ow)                                                                              \
    "CASE WHEN " ow ".target_type = 'PractitionerRole' THEN COALESCE((SELECT po_.target_id FROM"   \
    " resource pr_ JOIN idx_reference po_ ON po_.rid = pr_.rid AND po_.param = 'organization'"     \
    " WHERE pr_.type = 'PractitionerRole' AND pr_.id = " ow ".target_id), " ow ".target_id)"       \
    " ELSE " ow ".target_id END"

/* A far-future bound: an open Period's end is indexed as INT64_MAX. */
#define BOUNDED "253402300800000"

/* When a Task was done: executionPeriod.end, else lastModified, else its last write. */
#define TASK_DONE(t)                                                                               \
    "COALESCE((SELECT ep_.high FROM idx_date ep_ WHERE ep_.rid = " t ".rid AND ep_.param ="        \
    " 'period' AND ep_.high < " BOUNDED "), (SELECT md_.high FROM idx_date md_ WHERE md_.rid = " t \
    ".rid AND md_.param = 'modified'), (SELECT rr_.last_updated FROM resource rr_ WHERE"           \
    " rr_.rid = " t ".rid))"

/* The rows of one date parameter of one type in a range, sorted by rid (see the top). */
#define DATES_BY_RID(type, param, where)                                                           \
    "(SELECT rid, low, high FROM idx_date WHERE type = '" type "' AND param = '" param             \
    "' AND " where " ORDER BY rid LIMIT " SQL_ALL_ROWS ")"

/* Stays discharged in the period that were declared discharge-ready: days from
 * ready to discharged (whole hours), num = discharged within ?13. */
#define STAY_READY                                                                                 \
    HEAD "SELECT s.target_id AS patient, sp.target_id AS org, NULL AS stratum,"                    \
         " CASE WHEN (d.high - r.low) / 1000 <= CAST(?13 AS BIGINT) / 1000 THEN 1 ELSE 0 END AS "  \
         "num,"                                                                                    \
         " ROUND((d.high - r.low) / 3600000.0) / 24.0 AS value, NULL AS json"                      \
         " FROM " DATES_BY_RID(                                                                    \
             "Encounter", "discharge-ready",                                                       \
             "low < ?2") " r"                                                                      \
                         " " SQL_CROSS_JOIN " idx_date d ON d.rid = r.rid AND d.param = 'date'"    \
                         " " SQL_CROSS_JOIN                                                        \
                         " idx_token st ON st.rid = r.rid AND st.param = 'status' AND"             \
                         " st.value = 'finished'"                                                  \
                         " " SQL_CROSS_JOIN                                                        \
                         " idx_reference s ON s.rid = r.rid AND s.param = 'patient'"               \
                         " LEFT JOIN idx_reference sp ON sp.rid = r.rid AND sp.param = "           \
                         "'service-provider'"                                                      \
                         " WHERE d.high >= ?1 AND d.high < ?2" TAIL

/* Bed-days in the period occupied by citizens declared discharge-ready: the
 * overlap of [ready, discharged - or now while still admitted) with the period. */
#define STAY_OCCUPIED_END                                                                          \
    SQL_LEAST "(CASE WHEN st.value = 'finished' THEN d.high + 1 ELSE ?10 END, ?2)"
#define STAY_BED_DAYS                                                                              \
    HEAD "SELECT s.target_id AS patient, sp.target_id AS org, NULL AS stratum, 1 AS num,"          \
         " ROUND((" STAY_OCCUPIED_END " - " SQL_GREATEST "(r.low, ?1)) / 3600000.0) / 24.0"        \
         " AS value, NULL AS json FROM " DATES_BY_RID(                                             \
             "Encounter", "discharge-ready",                                                       \
             "low < ?2") " r " SQL_CROSS_JOIN " idx_date d ON d.rid = r.rid AND d.param = "        \
                         "'date'"                                                                  \
                         " " SQL_CROSS_JOIN " idx_token st ON st.rid = r.rid AND st.param = "      \
                         "'status' AND st.value IN"                                                \
                         " ('finished', 'in-progress', 'onleave', 'arrived', 'triaged')"           \
                         " " SQL_CROSS_JOIN " idx_reference s ON s.rid = r.rid AND s.param = "     \
                         "'patient'"                                                               \
                         " LEFT JOIN idx_reference sp ON sp.rid = r.rid AND sp.param = "           \
                         "'service-provider'"                                                      \
                         " WHERE " STAY_OCCUPIED_END " > " SQL_GREATEST "(r.low, ?1)" TAIL

/* Inpatient stays (class IMP) discharged in the period; num = another inpatient
 * stay of the citizen with priority ?11 began within ?13 after the discharge (the
 * citizen's stays are few: their start is checked first). */
#define READMISSION                                                                                \
    HEAD "SELECT s.target_id AS patient, sp.target_id AS org, NULL AS stratum,"                    \
         " CASE WHEN EXISTS (SELECT 1 FROM idx_reference s2"                                       \
         " " SQL_CROSS_JOIN " idx_date d2 ON d2.rid = s2.rid AND d2.param = 'date' AND"            \
         " d2.low > d.high - 1000 AND d2.low <= d.high + ?13"                                      \
         " " SQL_CROSS_JOIN                                                                        \
         " idx_token p2 ON p2.rid = s2.rid AND p2.param = 'priority' AND p2.value = ?11"           \
         " " SQL_CROSS_JOIN                                                                        \
         " idx_token c2 ON c2.rid = s2.rid AND c2.param = 'class' AND c2.value = 'IMP'"            \
         " " SQL_CROSS_JOIN                                                                        \
         " idx_token t2 ON t2.rid = s2.rid AND t2.param = 'status' AND t2.value IN"                \
         " ('finished', 'in-progress', 'onleave', 'arrived', 'triaged')"                           \
         " WHERE s2.type = 'Encounter' AND s2.param = 'patient' AND s2.target_id = s.target_id"    \
         " AND s2.rid <> d.rid)"                                                                   \
         " THEN 1 ELSE 0 END AS num, NULL AS value, NULL AS json"                                  \
         " FROM " DATES_BY_RID(                                                                    \
             "Encounter", "date",                                                                  \
             "low < ?2 AND high >= ?1 AND high < ?2") " d"                                         \
                                                      " " SQL_CROSS_JOIN                           \
                                                      " idx_token c ON c.rid = d.rid AND "         \
                                                      "c.param = 'class' AND c.value = 'IMP'"      \
                                                      " " SQL_CROSS_JOIN                           \
                                                      " idx_token st ON st.rid = d.rid AND "       \
                                                      "st.param = 'status' AND"                    \
                                                      " st.value = 'finished'"                     \
                                                      " " SQL_CROSS_JOIN                           \
                                                      " idx_reference s ON s.rid = d.rid AND "     \
                                                      "s.param = 'patient'"                        \
                                                      " LEFT JOIN idx_reference sp ON sp.rid = "   \
                                                      "d.rid "                                     \
                                                      "AND sp.param = 'service-provider'" TAIL

/* Rehabilitation plans (CarePlan category ?12) whose baseline - the discharge
 * of the plan's stay, or the later start the plan names - falls in the period;
 * num = an Encounter of type ?11 began within ?13 of the baseline. */
#define REHAB_START                                                                                \
    HEAD "SELECT x.patient AS patient, x.org AS org, NULL AS stratum,"                             \
         " CASE WHEN EXISTS (SELECT 1 FROM idx_reference s2"                                       \
         " " SQL_CROSS_JOIN " idx_date d2 ON d2.rid = s2.rid AND d2.param = 'date' AND"            \
         " d2.low >= x.base AND d2.low <= x.base + ?13"                                            \
         " " SQL_CROSS_JOIN                                                                        \
         " idx_token t2 ON t2.rid = s2.rid AND t2.param = 'type' AND t2.value = ?11"               \
         " WHERE s2.type = 'Encounter' AND s2.param = 'patient' AND s2.target_id = x.patient)"     \
         " THEN 1 ELSE 0 END AS num,"                                                              \
         " NULL AS value, NULL AS json FROM (SELECT s.target_id AS patient,"                       \
         " (SELECT pf.target_id FROM idx_reference pf WHERE pf.rid = c.rid AND"                    \
         " pf.param = 'performer' LIMIT 1) AS org, " SQL_GREATEST                                  \
         "(COALESCE((SELECT ed.high + 1 FROM idx_reference en JOIN resource er ON"                 \
         " er.type = 'Encounter' AND er.id = en.target_id JOIN idx_date ed ON ed.rid = er.rid"     \
         " AND ed.param = 'date' WHERE en.rid = c.rid AND en.param = 'encounter' AND"              \
         " ed.high < " BOUNDED " LIMIT 1), 0), COALESCE((SELECT pd.low FROM idx_date pd WHERE"     \
         " pd.rid = c.rid AND pd.param = 'date' AND pd.low > 0 LIMIT 1), 0)) AS base"              \
         " FROM idx_token c JOIN idx_reference s ON s.rid = c.rid AND s.param = 'patient'"         \
         " JOIN idx_token cs ON cs.rid = c.rid AND cs.param = 'status' AND cs.value IN"            \
         " ('active', 'completed', 'on-hold')"                                                     \
         " WHERE c.type = 'CarePlan' AND c.param = 'category' AND c.value = ?12) x"                \
         " WHERE x.base >= ?1 AND x.base < ?2" TAIL

/* Citizens with shared care needs - services of two or more organisations in
 * the period (tasks by authoredOn, stays and episodes of care by their period) -
 * and num = an active coordination CareTeam (the coord rules keep one coordinator
 * in it) and an active CarePlan of category ?11 that a party agreed to (a
 * Provenance with activity agreement).  The services are the served-by rows of
 * idx_combined (store/combined.h: citizen, who served, when; one range in citizen
 * order, no seek, no sort), a PractitionerRole standing for its organisation; the
 * citizens with a team and with an agreed plan are two sets, each read once, not
 * seeks per citizen. */
#define SERVED_ORG(u)                                                                              \
    "CASE WHEN " u ".ot = 'PractitionerRole' THEN COALESCE((SELECT po_.target_id FROM resource"    \
    " pr_ JOIN idx_reference po_ ON po_.rid = pr_.rid AND po_.param = 'organization' WHERE"        \
    " pr_.type = 'PractitionerRole' AND pr_.id = " u ".o), " u ".o) ELSE " u ".o END"
#define COORDINATOR_PLAN                                                                           \
    HEAD "SELECT x.patient AS patient, NULL AS org, NULL AS stratum,"                              \
         " CASE WHEN x.patient IN (SELECT ts.target_id FROM idx_reference ts WHERE"                \
         " ts.type = 'CareTeam' AND ts.param = 'patient' AND ts.rid IN (SELECT tc.rid FROM"        \
         " idx_token tc WHERE tc.type = 'CareTeam' AND tc.param = 'category' AND"                  \
         " tc.value = 'coordination') AND ts.rid IN (SELECT tt.rid FROM idx_token tt WHERE"        \
         " tt.type = 'CareTeam' AND tt.param = 'status' AND tt.value = 'active'))"                 \
         " AND x.patient IN (SELECT ps.target_id FROM idx_token pa " SQL_CROSS_JOIN                \
         " idx_reference pv ON pv.rid = pa.rid AND pv.param = 'target' AND"                        \
         " pv.target_type = 'CarePlan' " SQL_CROSS_JOIN " resource pr ON pr.type = 'CarePlan' AND" \
         " pr.id = pv.target_id " SQL_CROSS_JOIN " idx_token pc ON pc.rid = pr.rid AND"            \
         " pc.param = 'category' AND pc.value = ?11 " SQL_CROSS_JOIN " idx_token pt ON"            \
         " pt.rid = pr.rid AND pt.param = 'status' AND pt.value = 'active' " SQL_CROSS_JOIN        \
         " idx_reference ps ON ps.rid = pr.rid AND ps.param = 'patient' WHERE"                     \
         " pa.type = 'Provenance' AND pa.param = 'activity' AND pa.value = 'agreement')"           \
         " THEN 1 ELSE 0 END AS num, NULL AS value, NULL AS json FROM (SELECT u.patient FROM ("    \
         "SELECT target_id AS patient, target_type AS ot, code AS o FROM idx_combined WHERE"       \
         " type = 'Patient' AND param = 'served-by' AND low < ?2 AND high >= ?1"                   \
         ") u GROUP BY u.patient HAVING COUNT(DISTINCT " SERVED_ORG(                               \
             "u") ") >= 2 AND"                                                                     \
                  " (CAST(?4 AS TEXT) IS NULL OR u.patient IN " MUNICIPALITY_PATIENTS ")"          \
                  " ORDER BY u.patient) x" TAIL

/* Tasks (of code ?11, or all) whose deadline falls in the period and that are
 * decided - done, failed, or open past the deadline; num = completed by it.  Read
 * from the combined rows (owner, status, deadline); a Task without an owner has
 * none and is not counted (it is nobody's deadline).  The citizen is looked up
 * only when needed; a municipality filter selects the Tasks of its citizens first. */
#define TASK_DEADLINE                                                                              \
    HEAD "SELECT CASE WHEN " CITIZEN_NEEDED " THEN (SELECT pt.target_id FROM idx_reference pt"     \
         " WHERE pt.rid = cb.rid AND pt.param = 'patient' LIMIT 1) END AS patient, " OWNER_ORG(    \
             "cb") " AS org, NULL AS stratum,"                                                     \
                   " CASE WHEN cb.code = 'completed' AND " TASK_DONE(                              \
                       "cb") " / 1000 <= cb.high / 1000"                                           \
                             " THEN 1 ELSE 0 END AS num, NULL AS value, NULL AS json"              \
                             " FROM idx_combined cb WHERE cb.type = 'Task' AND cb.param = 'owner'" \
                             " AND cb.low >= ?1 AND cb.low < ?2"                                   \
                             " AND cb.code NOT IN ('cancelled', 'entered-in-error', 'rejected',"   \
                             " 'draft') AND (cb.code IN ('completed', 'failed') OR"                \
                             " cb.high <= ?10) AND (CAST(?11 AS TEXT) IS NULL OR cb.rid IN "       \
                             "(SELECT "                                                            \
                             "tc.rid FROM"                                                         \
                             " idx_token tc WHERE tc.type = 'Task' AND tc.param = 'code' AND"      \
                             " tc.value = ?11)) AND (CAST(?4 AS TEXT) IS NULL OR cb.rid IN "       \
                             "(SELECT "                                                            \
                             "tp.rid FROM"                                                         \
                             " idx_reference tp WHERE tp.type = 'Task' AND tp.param = 'patient'"   \
                             " AND tp.target_id IN " MUNICIPALITY_PATIENTS "))" TAIL

/* Completed Tasks of code ?11 done in the period: hours from authoredOn to done
 * (whole minutes), by the category of the Communication they focus on. */
#define TASK_DURATION                                                                              \
    HEAD "SELECT y.patient AS patient, y.org AS org, y.stratum AS stratum, 1 AS num,"              \
         " ROUND((y.done - y.asked) / 60000.0) / 60.0 AS value, NULL AS json FROM ("               \
         "SELECT pt.target_id AS patient, " OWNER_ORG(                                             \
             "ow") " AS org,"                                                                      \
                   " (SELECT cc.value FROM idx_reference fc JOIN resource cr ON cr.type = "        \
                   "'Communication'"                                                               \
                   " AND cr.id = fc.target_id JOIN idx_token cc ON cc.rid = cr.rid AND"            \
                   " cc.param = 'category' WHERE fc.rid = tc.rid AND fc.param = 'focus' LIMIT 1) " \
                   "AS "                                                                           \
                   "stratum,"                                                                      \
                   " " TASK_DONE(                                                                  \
                       "tc") " AS done, au.low AS asked"                                           \
                             " FROM idx_token tc JOIN idx_token st ON st.rid = tc.rid AND "        \
                             "st.param = "                                                         \
                             "'status' AND"                                                        \
                             " st.value = 'completed' JOIN idx_date au ON au.rid = tc.rid AND "    \
                             "au.param "                                                           \
                             "= 'authored-on'"                                                     \
                             " LEFT JOIN idx_reference pt ON pt.rid = tc.rid AND pt.param = "      \
                             "'patient'"                                                           \
                             " LEFT JOIN idx_reference ow ON ow.rid = tc.rid AND ow.param = "      \
                             "'owner'"                                                             \
                             " WHERE tc.type = 'Task' AND tc.param = 'code' AND tc.value = ?11) y" \
                             " WHERE y.done >= ?1 AND y.done < ?2" TAIL

/* Completed Tasks of code ?11 (time logged) whose executionPeriod starts in the
 * period: hours (whole minutes), by the owner's organisation. */
#define TIME_LOG                                                                                   \
    HEAD "SELECT pt.target_id AS patient, " OWNER_ORG(                                             \
        "ow") " AS org, NULL AS stratum, 1 AS num,"                                                \
              " ROUND((ep.high - ep.low) / 60000.0) / 60.0 AS value, NULL AS json"                 \
              " FROM idx_token tc JOIN idx_date ep ON ep.rid = tc.rid AND ep.param = 'period' AND" \
              " ep.high < " BOUNDED " JOIN idx_token st ON st.rid = tc.rid AND st.param = "        \
              "'status' AND st.value = 'completed'"                                                \
              " LEFT JOIN idx_reference pt ON pt.rid = tc.rid AND pt.param = 'patient'"            \
              " LEFT JOIN idx_reference ow ON ow.rid = tc.rid AND ow.param = 'owner'"              \
              " WHERE tc.type = 'Task' AND tc.param = 'code' AND tc.value = ?11 AND ep.low >= ?1 " \
              "AND"                                                                                \
              " ep.low < ?2" TAIL

/* Goals due in the period (their earliest target.dueDate) that are pursued;
 * num = achieved or sustaining; stratum = the category code of system ?12. */
#define GOAL                                                                                       \
    HEAD "SELECT s.target_id AS patient, NULL AS org,"                                             \
         " (SELECT gc.value FROM idx_token gc WHERE gc.rid = td.rid AND gc.param = 'category'"     \
         " AND gc.system = ?12 LIMIT 1) AS stratum,"                                               \
         " CASE WHEN EXISTS (SELECT 1 FROM idx_token ga WHERE ga.rid = td.rid AND"                 \
         " ga.param = 'achievement-status' AND ga.value IN ('achieved', 'sustaining'))"            \
         " THEN 1 ELSE 0 END AS num, NULL AS value, NULL AS json"                                  \
         " FROM " DATES_BY_RID(                                                                    \
             "Goal", "target-date",                                                                \
             "low >= ?1 AND low < ?2") " td"                                                       \
                                       " " SQL_CROSS_JOIN                                          \
                                       " idx_token ls ON ls.rid = td.rid AND ls.param ="           \
                                       " 'lifecycle-status' AND ls.value IN ('active', "           \
                                       "'completed', 'accepted', 'planned',"                       \
                                       " 'on-hold') " SQL_CROSS_JOIN                               \
                                       " idx_reference s ON s.rid = td.rid "                       \
                                       "AND s.param = 'patient'"                                   \
                                       " WHERE td.low = (SELECT MIN(t2.low) FROM idx_date t2 "     \
                                       "WHERE "                                                    \
                                       "t2.rid = td.rid AND"                                       \
                                       " t2.param = 'target-date')" TAIL

/* Break-the-glass openings in the period (the audit log). */
#define BREAK_THE_GLASS                                                                            \
    HEAD "SELECT a.citizen AS patient, CASE WHEN a.organisation LIKE 'Organization/%'"             \
         " THEN substr(a.organisation, 14) ELSE a.organisation END AS org, NULL AS stratum,"       \
         " 1 AS num, NULL AS value, NULL AS json FROM audit a WHERE a.action ="                    \
         " 'break-the-glass' AND a.time >= ?1 AND a.time < ?2" TAIL

/* QuestionnaireResponses to questionnaire ?11 (its canonical url) authored in
 * the period, completed or amended, with their JSON (the answers are read in C). */
#define QUESTIONNAIRE                                                                              \
    HEAD "SELECT s.target_id AS patient, " OWNER_ORG(                                              \
        "ow") " AS org, NULL AS stratum,"                                                          \
              " 0 AS num, NULL AS value, v.json AS json"                                           \
              " FROM idx_reference qq JOIN idx_date au ON au.rid = qq.rid AND au.param = "         \
              "'authored'"                                                                         \
              " JOIN idx_token st ON st.rid = qq.rid AND st.param = 'status' AND st.value IN"      \
              " ('completed', 'amended') JOIN resource r ON r.rid = qq.rid"                        \
              " JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"                \
              " LEFT JOIN idx_reference s ON s.rid = qq.rid AND s.param = 'patient'"               \
              " LEFT JOIN idx_reference ow ON ow.rid = qq.rid AND ow.param = 'author'"             \
              " WHERE qq.type = 'QuestionnaireResponse' AND qq.param = 'questionnaire' AND"        \
              " qq.target_id = ?11 AND au.low >= ?1 AND au.low < ?2" TAIL

/*
 * The statements above in the two dialects, spelled where they differ by these words
 * (the macros expand where each statement is instantiated):
 *   SQL_CROSS_JOIN  SQLite's CROSS JOIN keeps the join order written (its planner
 *                   would otherwise start from the citizens); PostgreSQL takes no ON
 *                   after CROSS JOIN and plans the order itself.
 *   SQL_ALL_ROWS    the LIMIT that keeps SQLite from flattening a sorted subquery (-1;
 *                   ALL on PostgreSQL).
 *   SQL_LEAST, SQL_GREATEST  SQLite's scalar MIN/MAX (no NULLs reach them).
 */
#define SQL_CROSS_JOIN "CROSS JOIN"
#define SQL_ALL_ROWS "-1"
#define SQL_LEAST "MIN"
#define SQL_GREATEST "MAX"
static const char SQL_STAY_READY[] = STAY_READY;
static const char SQL_STAY_BED_DAYS[] = STAY_BED_DAYS;
static const char SQL_READMISSION[] = READMISSION;
static const char SQL_REHAB_START[] = REHAB_START;
static const char SQL_COORDINATOR_PLAN[] = COORDINATOR_PLAN;
static const char SQL_TASK_DEADLINE[] = TASK_DEADLINE;
static const char SQL_TASK_DURATION[] = TASK_DURATION;
static const char SQL_TIME_LOG[] = TIME_LOG;
static const char SQL_GOAL[] = GOAL;
static const char SQL_BREAK_THE_GLASS[] = BREAK_THE_GLASS;
static const char SQL_QUESTIONNAIRE[] = QUESTIONNAIRE;
#undef SQL_CROSS_JOIN
#undef SQL_ALL_ROWS
#undef SQL_LEAST
#undef SQL_GREATEST
#define SQL_CROSS_JOIN "JOIN"
#define SQL_ALL_ROWS "ALL"
#define SQL_LEAST "LEAST"
#define SQL_GREATEST "GREATEST"
static const char PG_STAY_READY[] = STAY_READY;
static const char PG_STAY_BED_DAYS[] = STAY_BED_DAYS;
static const char PG_READMISSION[] = READMISSION;
static const char PG_REHAB_START[] = REHAB_START;
static const char PG_COORDINATOR_PLAN[] = COORDINATOR_PLAN;
static const char PG_TASK_DEADLINE[] = TASK_DEADLINE;
static const char PG_TASK_DURATION[] = TASK_DURATION;
static const char PG_TIME_LOG[] = TIME_LOG;
static const char PG_GOAL[] = GOAL;
static const char PG_BREAK_THE_GLASS[] = BREAK_THE_GLASS;
static const char PG_QUESTIONNAIRE[] = QUESTIONNAIRE;

typedef struct kind {
    const char *name;
    const char *sql;
    const char *pg_sql; /* the same on PostgreSQL */
    bool has_org;       /* its cases have a responsible organisation */
} kind;

static const kind kinds[] = {
    {"stay-ready", SQL_STAY_READY, PG_STAY_READY, true},
    {"stay-ready-bed-days", SQL_STAY_BED_DAYS, PG_STAY_BED_DAYS, true},
    {"readmission", SQL_READMISSION, PG_READMISSION, true},
    {"rehabilitation-start", SQL_REHAB_START, PG_REHAB_START, true},
    {"coordinator-and-plan", SQL_COORDINATOR_PLAN, PG_COORDINATOR_PLAN, false},
    {"task-deadline", SQL_TASK_DEADLINE, PG_TASK_DEADLINE, true},
    {"task-duration", SQL_TASK_DURATION, PG_TASK_DURATION, true},
    {"time-log", SQL_TIME_LOG, PG_TIME_LOG, true},
    {"goal", SQL_GOAL, PG_GOAL, false},
    {"break-the-glass", SQL_BREAK_THE_GLASS, PG_BREAK_THE_GLASS, true},
    {"questionnaire", SQL_QUESTIONNAIRE, PG_QUESTIONNAIRE, true},
};

static const kind *kind_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

bool sv__results_kind_known(const char *name)
{
    return kind_find(name) != NULL;
}

bool sv__results_kind_has_org(const char *name)
{
    const kind *k = kind_find(name);
    return k && k->has_org;
}

void sv__results_cases_clear(sv__results_cases *c)
{
    for (size_t i = 0; i < c->len; i++)
        free(c->v[i].stratum);
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static sv__results_case *case_add(sv__results_cases *c)
{
    if (c->len == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        sv__results_case *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            abort();
        c->v = v;
        c->cap = cap;
    }
    sv__results_case *k = &c->v[c->len++];
    memset(k, 0, sizeof(*k));
    return k;
}

static void copy_id(char out[SV_RESULTS_ID_LEN], sv_stmt *st, int col)
{
    size_t len = 0;
    const char *s = sv_stmt_column_is_null(st, col) ? NULL : sv_stmt_column_text(st, col, &len);
    if (!s || len >= SV_RESULTS_ID_LEN)
        len = 0;
    if (s)
        memcpy(out, s, len);
    out[len] = '\0';
}

static void bind_text(sv_stmt *st, int i, const char *s)
{
    if (s && *s)
        sv_stmt_bind_text(st, i, s);
    else
        sv_stmt_bind_null(st, i);
}

/* A citizen row of a statement: the citizen's columns and whether the filters pass. */
typedef struct citizen {
    char patient[SV_RESULTS_ID_LEN];
    char municipality[SV_RESULTS_ID_LEN];
    bool has_birth, passes;
    int64_t birth;
} citizen;

static int cmp_citizen(const void *a, const void *b)
{
    return strcmp(((const citizen *)a)->patient, ((const citizen *)b)->patient);
}

/* Gives cases v[from..len) their citizen's columns and drops those whose citizen
 * fails a citizen filter (or who have none while one is set). */
static void join_citizens(sv__results_cases *c, size_t from, citizen *cz, size_t ncz, bool filtered)
{
    if (ncz)
        qsort(cz, ncz, sizeof(*cz), cmp_citizen);
    size_t out = from;
    for (size_t i = from; i < c->len; i++) {
        sv__results_case *k = &c->v[i];
        const citizen *z = NULL;
        if (k->patient[0] && ncz) {
            citizen key;
            memcpy(key.patient, k->patient, sizeof(key.patient));
            z = bsearch(&key, cz, ncz, sizeof(*cz), cmp_citizen);
        }
        if (filtered && (!z || !z->passes)) {
            free(k->stratum);
            continue;
        }
        if (z) {
            memcpy(k->municipality, z->municipality, sizeof(k->municipality));
            k->has_birth = z->has_birth;
            k->birth = z->birth;
        }
        c->v[out++] = *k;
    }
    c->len = out;
}

sv_err sv__results_cases_get(sv_db *db, const char *name, const sv_results_filter *f,
                             const sv__results_args *a, sv__results_cases *ret, sv_buf *reterr)
{
    const kind *k = kind_find(name);
    if (!k) {
        if (reterr)
            sv_buf_addf(reterr, "calculation '%s' is not known", name ? name : "");
        return SV_ERR_PROCESSING;
    }
    sv_stmt *st = NULL;
    const char *sql = k->pg_sql && sv_db_dialect_of(db) == SV_DIALECT_POSTGRES ? k->pg_sql : k->sql;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, f->start);
    sv_stmt_bind_int64(st, 2, f->end);
    bind_text(st, 3, f->organization);
    bind_text(st, 4, f->municipality);
    bind_text(st, 5, f->condition_code ? f->condition_system : NULL);
    bind_text(st, 6, f->condition_code);
    /* Age at the end of the period: the Measure's own limit and the filter's band. */
    int age_min = f->age_min;
    if (a->age_min >= 0 && a->age_min > age_min)
        age_min = a->age_min;
    bool by_age = age_min >= 0 || f->age_max >= 0;
    if (by_age) {
        int64_t last = f->end - 1;
        sv_stmt_bind_int64(
            st, 7, f->age_max >= 0 ? sv__results_years_before(last, f->age_max + 1) : INT64_MIN);
        sv_stmt_bind_int64(st, 8,
                           age_min >= 0 ? sv__results_years_before(last, age_min) : INT64_MAX);
    } else {
        sv_stmt_bind_null(st, 7);
        sv_stmt_bind_null(st, 8);
    }
    bind_text(st, 9, f->region);
    sv_stmt_bind_int64(st, 10, f->now);
    bind_text(st, 11, a->code);
    bind_text(st, 12, a->code2);
    sv_stmt_bind_int64(st, 13, a->amount_ms);
    sv_stmt_bind_int64(st, 14, a->without_citizen ? 0 : 1);
    bool questionnaire = strcmp(name, "questionnaire") == 0;
    size_t from = ret->len, ncz = 0, capcz = 0;
    citizen *cz = NULL;
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        if (sv_stmt_column_int64(st, 8) == 0) { /* a citizen row */
            if (ncz == capcz) {
                capcz = capcz ? capcz * 2 : 256;
                citizen *v = realloc(cz, capcz * sizeof(*v));
                if (!v)
                    abort();
                cz = v;
            }
            citizen *z = &cz[ncz++];
            copy_id(z->patient, st, 0);
            copy_id(z->municipality, st, 5);
            z->passes = sv_stmt_column_int64(st, 3) != 0;
            z->has_birth = !sv_stmt_column_is_null(st, 6);
            z->birth = z->has_birth ? sv_stmt_column_int64(st, 6) : 0;
            continue;
        }
        sv__results_case c;
        memset(&c, 0, sizeof(c));
        copy_id(c.patient, st, 0);
        copy_id(c.org, st, 1);
        c.in_numerator = sv_stmt_column_int64(st, 3) != 0;
        c.has_value = !sv_stmt_column_is_null(st, 4);
        c.value = c.has_value ? sv_stmt_column_double(st, 4) : 0;
        if (questionnaire) {
            const char *json = sv_stmt_column_text(st, 7, NULL);
            if (json)
                sv__results_questionnaire_cases(&c, json, a->code2, ret);
            continue;
        }
        sv__results_case *k2 = case_add(ret);
        *k2 = c;
        if (!sv_stmt_column_is_null(st, 2)) {
            const char *s = sv_stmt_column_text(st, 2, NULL);
            k2->stratum = s ? strdup(s) : NULL;
        }
    }
    sv_stmt_reset(st);
    if (!e)
        join_citizens(ret, from, cz, ncz,
                      (f->municipality && *f->municipality) ||
                          (f->condition_code && *f->condition_code) || by_age);
    free(cz);
    return e;
}

sv__results_case *sv__results_case_push(sv__results_cases *c, const sv__results_case *base)
{
    sv__results_case *k = case_add(c);
    *k = *base;
    k->stratum = NULL;
    return k;
}
