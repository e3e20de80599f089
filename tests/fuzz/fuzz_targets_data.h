/*
 * Fixed tables and rosters the fuzz targets route with. They use every
 * column type, cell form and router output, and pools of every strategy
 * with skills, tiers, capacities, caps, deadlines and escalation.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_FUZZ_TARGETS_DATA_H
#define LEADROUTE_FUZZ_TARGETS_DATA_H

static const char fuzz_table_main[] =
    "#! name: fuzz main\n"
    "#! hit_policy: first\n"
    "rule,region:ci,country,postal,score:number,employees:number,vip:bool,products:set,language,"
    "out:pool,out:owner,out:queue,out:status,out:sla_minutes:number,out:tags\n"
    "vip,-,-,-,>= 90,-,-,-,-,enterprise,,,hot,5,vip\n"
    "named,-,-,-,-,>= 5000,-,-,-,enterprise,priya,,strategic,30,\n"
    "flagged,-,-,-,-,-,true,-,-,,marcus,,,15,\n"
    "emea,EMEA,\"DE, AT, CH\",-,-,< 1000,-,-,\"de, en\",emea,,,,120,dach\n"
    "west,NA,US,\"94*, 95*\",-,[50..1000),-,\"crm, ai\",-,americas,,,,60,\n"
    "deals,-,-,-,(10..60],-,-,-,-,deals,,,,30,\n"
    "none,null,null,-,-,-,-,-,-,,,data-quality,enrich,,\n"
    "notde,EMEA,not(DE),-,-,-,-,-,-,inside,,,,240,\n"
    "missing,-,-,-,-,-,-,-,-,ghost-pool,,,,,\n";

static const char fuzz_table_second[] =
    "#! name: fuzz second\n"
    "#! hit_policy: priority\n"
    "#! priority: pool = enterprise, deals, inside\n"
    "rule,region,score:number,products:set,out:pool,out:queue,out:sla_minutes:number\n"
    "a,EMEA,-,-,inside,,10\n"
    "b,-,>= 50,-,deals,,20\n"
    "c,-,-,\"crm, cpq\",enterprise,,5\n"
    "d,-,< 0,-,,overflow,\n"
    "e,-,-,-,americas,,45\n";

static const char fuzz_table_third[] =
    "#! name: fuzz third\n"
    "#! hit_policy: unique\n"
    "rule,language,score:number,out:owner,out:pool\n"
    "en,en,-,,americas\n"
    "de,de,-,,emea\n"
    "hi,-,>= 75,kenji,\n";

static const char fuzz_roster_main[] =
    "#! pools\n"
    "id,strategy,fallback,on_empty,default_owner,queue,owner_first,filters,tiers,sla_minutes,max_hops,"
    "escalation_pool,escalation_owner,cap_day,calibration,value_field,value_window_days\n"
    "enterprise,weighted,,default_owner,priya,,yes,products=products,>=80:2,30,1,,omar,,catch_up,,\n"
    "emea,round_robin,inside,unassigned,,,yes,language=languages,>=70:1,60,2,inside,,,,,\n"
    "americas,round_robin,inside,unassigned,,,no,language=languages,,45,1,,,,,,\n"
    "inside,least_loaded,,queue,,overflow,no,,,20,1,,,,,,\n"
    "deals,value_balanced,inside,unassigned,,,no,,,10,1,enterprise,,40,join,deal_value,7\n"
    "#! reps\n"
    "id,pools,weight,capacity,tier,active,cap_day,languages,products\n"
    "priya,enterprise,2,,2,yes,,\"en, hi\",\"crm, analytics, ai\"\n"
    "marcus,\"enterprise, deals\",1,4,2,yes,,en,\"crm, cpq\"\n"
    "sofia,enterprise,1,,1,yes,5,\"en, de\",\"crm, erp\"\n"
    "jonas,\"emea, deals\",1,3,1,yes,,\"de, en\",\n"
    "camille,emea,1,,2,yes,,\"fr, en\",\n"
    "emma,emea,1,,1,no,,\"nl, de\",\n"
    "diego,\"americas, deals\",1,,1,yes,,\"es, en\",\n"
    "rachel,americas,1,2,2,yes,,en,\n"
    "nina,inside,1,3,0,yes,,en,\n"
    "kenji,\"inside, deals\",1,1,0,yes,,\"en, ja\",\n"
    "omar,inside,1,,0,yes,0,en,\n";

/* The same rep ids, other pools and limits: a roster swap in the middle. */
static const char fuzz_roster_second[] =
    "#! pools\n"
    "id,strategy,fallback,on_empty,queue,owner_first,sla_minutes,max_hops,escalation_owner\n"
    "enterprise,least_loaded,inside,unassigned,,no,15,2,priya\n"
    "emea,weighted,,queue,emea-q,no,30,1,\n"
    "americas,value_balanced,,unassigned,,no,30,1,\n"
    "inside,round_robin,,queue,overflow,yes,20,3,\n"
    "deals,round_robin,emea,unassigned,,no,5,1,\n"
    "#! reps\n"
    "id,pools,weight,capacity,tier,active,languages\n"
    "priya,\"enterprise, inside\",1,2,2,yes,en\n"
    "marcus,enterprise,3,,2,no,en\n"
    "sofia,\"enterprise, emea\",1,1,1,yes,\"en, de\"\n"
    "jonas,emea,2,,1,yes,de\n"
    "camille,\"emea, deals\",1,,2,yes,fr\n"
    "emma,emea,1,,1,yes,nl\n"
    "diego,americas,1,,1,yes,es\n"
    "rachel,\"americas, deals\",1,,2,yes,en\n"
    "nina,inside,1,,0,yes,en\n"
    "kenji,inside,1,2,0,yes,ja\n"
    "omar,\"inside, deals\",1,,0,yes,en\n";

#endif
