/**
 * The console's chart script (`/console/assets/console-charts.js`): draws each `<canvas data-chart="…">` with
 * Chart.js (the bundled library, `/console/assets/chart.umd.min.js`, loaded before it) from the chart's data, which
 * the page holds in a `<script type="application/json">` block (lambdas/console/audit-data.ts `ChartData`). Once a
 * chart is drawn, its data table (open for readers without script) folds into its "Data table" disclosure. It
 * reads only what the server wrote, builds no markup, and runs no inline code (the CSP allows 'self' and the page
 * script's hash). Plain ES5, as it runs as written.
 */
export const CHARTS_SCRIPT = `(function(){
'use strict';
if(!window.Chart)return;
function draw(canvas){
  var block=document.getElementById(canvas.getAttribute('data-chart'));
  if(!block)return;
  var spec;
  try{spec=JSON.parse(block.textContent)}catch(e){return}
  var range=spec.kind==='range',stacked=spec.kind==='stacked',sets=[];
  for(var i=0;i<spec.datasets.length;i++){
    var d=spec.datasets[i];
    var set={label:d.label,data:d.data,backgroundColor:d.color,borderColor:d.color,borderWidth:1};
    if(d.point){set.type='line';set.showLine=false;set.pointRadius=6;set.pointHoverRadius=7;set.pointStyle='rectRot';set.order=0}
    else if(range){set.grouped=false;set.barPercentage=i===0?0.12:0.6;set.categoryPercentage=0.8;set.order=spec.datasets.length-i}
    sets.push(set);
  }
  var tooltip={};
  if(range)tooltip={callbacks:{label:function(c){var v=c.raw;return c.dataset.label+': '+(v&&v.length===2?v[0]+' to '+v[1]:v)+' '+spec.unit}}};
  new window.Chart(canvas,{
    type:'bar',
    data:{labels:spec.labels,datasets:sets},
    options:{
      animation:false,responsive:true,maintainAspectRatio:false,
      scales:{x:{stacked:stacked},y:{stacked:stacked,beginAtZero:true,title:{display:true,text:spec.unit},ticks:range?{}:{precision:0}}},
      plugins:{legend:{position:'bottom'},tooltip:tooltip}
    }
  });
  canvas.setAttribute('data-drawn','');
  var table=document.getElementById(canvas.getAttribute('data-table'));
  if(table)table.removeAttribute('open');
}
var canvases=document.querySelectorAll('canvas[data-chart]');
for(var n=0;n<canvases.length;n++)draw(canvases[n]);
})();
`;
